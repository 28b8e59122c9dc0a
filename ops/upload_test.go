package ops_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/ops"
)

const maxBlob = 1 << 20

func startAdmin(t *testing.T) (*ops.Admin, *cache.Cache) {
	t.Helper()
	c, err := cache.Open(filepath.Join(t.TempDir(), "edge.db"), cache.Options{Log: slogDiscard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	a, err := ops.NewAdmin(ops.AdminConfig{Addr: "127.0.0.1:0", Token: token, Cache: c, MaxBlob: maxBlob, Log: slogDiscard()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown(t.Context()) })
	return a, c
}

// TestBearerSchemeCaseInsensitive: "bearer" and "BEARER" are the same
// scheme as "Bearer"; a wrong token is still refused.
func TestBearerSchemeCaseInsensitive(t *testing.T) {
	a, _ := startAdmin(t)
	for _, auth := range []string{"Bearer " + token, "bearer " + token, "BEARER  " + token, "bearer wrong-token-0123456789", "Basic " + token, token} {
		req, _ := http.NewRequest("GET", "http://"+a.Addr()+"/v1/cache/stats", nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusOK
		if auth == "bearer wrong-token-0123456789" || auth == "Basic "+token || auth == token {
			want = http.StatusUnauthorized
		}
		if resp.StatusCode != want {
			t.Errorf("Authorization %.12q…: %d, want %d", auth, resp.StatusCode, want)
		}
	}
}

// TestOversizeUploadRefusedBeforeReading: a declared Content-Length over
// the limit gets 413 before any byte is sent, and edge.db does not grow.
func TestOversizeUploadRefusedBeforeReading(t *testing.T) {
	a, c := startAdmin(t)
	before, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	digest := cache.Sum([]byte("x")).String()
	fmt.Fprintf(conn, "PUT /v1/blobs/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", digest, token, 512<<20)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a node waiting for the body fails here
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("512 MiB declared: %d, want 413", resp.StatusCode)
	}
	after, _ := c.Stats()
	if after.FileBytes != before.FileBytes {
		t.Errorf("edge.db grew from %d to %d bytes for a refused upload", before.FileBytes, after.FileBytes)
	}
}

// TestRefusedUnsizedUploadLeavesNothing: a chunked upload over the limit
// is refused with 413 and leaves no chunk behind.
func TestRefusedUnsizedUploadLeavesNothing(t *testing.T) {
	a, c := startAdmin(t)
	data := bytes.Repeat([]byte("b"), 3*maxBlob)
	req, _ := http.NewRequest("PUT", "http://"+a.Addr()+"/v1/blobs/"+cache.Sum(data).String(), io.MultiReader(bytes.NewReader(data)))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("3 MiB chunked: %d, want 413", resp.StatusCode)
	}
	rep, err := c.GC()
	if err != nil {
		t.Fatal(err)
	}
	if rep.OrphanChunks != 0 {
		t.Errorf("a refused upload left %d chunks behind", rep.OrphanChunks)
	}
	if c.HasBlob(cache.Sum(data)) {
		t.Error("the refused blob is stored")
	}
}
