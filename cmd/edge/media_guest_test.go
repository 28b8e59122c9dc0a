package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mrand "math/rand/v2"

	"github.com/quic-go/quic-go/http3"
)

// TestMediaGuestHandsOffSegments runs the committed media guest (Go on the
// edge ABI, pre-initialised) in a node, with a segment of random bytes in
// place of the ffmpeg ladder so it needs neither ffmpeg nor a browser: a
// token from POST /token opens the master playlist; the rendition URL it
// carries fetches the segment by Range over HTTP/2 and HTTP/3 (206, the
// exact bytes, immutable), which the guest hands to the node with
// X-Edge-Static (never seen by the client); a forged or other-rendition
// token gets 403 and zero body bytes; the segment is not served
// around the guest.
func TestMediaGuestHandsOffSegments(t *testing.T) {
	src := filepath.Join("..", "..", "modules", "examples", "media", "site")
	site := t.TempDir()
	seg := make([]byte, 256<<10)
	_, _ = mrand.NewChaCha8([32]byte{3}).Read(seg)
	files := map[string][]byte{"hls/720p/seg_001.m4s": seg, "hls/360p/seg_001.m4s": seg, "hls-br/720p/index.m4s": seg, "public/index.html": []byte("player")}
	for _, f := range []string{"edge.toml", "media.wasm"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = b
	}
	for name, data := range files {
		p := filepath.Join(site, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	node := startNode(t, t.TempDir(), "--app", site)
	node.waitLogLine(t, `msg="pre-initialised module"`, "media.wasm")
	master := mediaToken(t, node.banner.http, "alice")
	status, playlist := page(t, node, master)
	var rendition string
	for _, line := range strings.Split(playlist, "\n") {
		if strings.HasSuffix(line, "/720p/index.m3u8") {
			rendition = strings.TrimSuffix(line, "index.m3u8")
		}
	}
	if status != 200 || rendition == "" {
		t.Fatalf("master playlist: %d\n%s", status, playlist)
	}
	pem, err := os.ReadFile(node.banner.ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	h2 := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	h3 := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(func() { h2.CloseIdleConnections(); _ = h3.Close() })
	get := func(rt http.RoundTripper, path, rng string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, node.banner.https+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := (&http.Client{Transport: rt}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	good := "/media/" + rendition + "seg_001.m4s"
	for name, rt := range map[string]http.RoundTripper{"h2": h2, "h3": h3} {
		resp, body := get(rt, good, "bytes=1000-66535")
		if resp.StatusCode != 206 || !bytes.Equal(body, seg[1000:66536]) || resp.Header.Get("X-Edge-Static") != "" {
			t.Errorf("%s: a good token's Range: %d, %d bytes, X-Edge-Static %q", name, resp.StatusCode, len(body), resp.Header.Get("X-Edge-Static"))
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: segment Cache-Control %q", name, cc)
		}
		if want := map[string]int{"h2": 2, "h3": 3}[name]; resp.ProtoMajor != want {
			t.Errorf("%s: answered over %s", name, resp.Proto)
		}
	}
	forged := "/media/" + strings.Replace(rendition, ".", ".A", 1) + "seg_001.m4s"
	other := "/media/" + strings.Replace(rendition, "/720p/", "/360p/", 1) + "seg_001.m4s"
	for name, path := range map[string]string{"forged": forged, "other rendition": other, "around the guest": "/hls/720p/seg_001.m4s"} {
		resp, body := get(h2, path, "")
		if resp.StatusCode < 400 || bytes.Contains(body, seg[:64]) || (name != "around the guest" && len(body) != 0) {
			t.Errorf("%s: %d with %d bytes, want a refusal and no byte of the segment", name, resp.StatusCode, len(body))
		}
	}
	node.stop(t)
}
