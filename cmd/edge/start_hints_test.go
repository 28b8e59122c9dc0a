package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/edgecdn/edge/cache"
)

// TestStartHints: a bind error names the flag of the listener that
// failed, a locked data dir says another node holds it, and other errors
// pass unchanged.
func TestStartHints(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, inUse := net.Listen("tcp", busy.Addr().String())
	if inUse == nil {
		t.Fatal("a second listen on one address succeeded")
	}
	for in, want := range map[error]string{
		fmt.Errorf("edge: listen https (tcp) %s: %w", busy.Addr(), inUse): "free address with --https",
		fmt.Errorf("edge: listen http %s: %w", busy.Addr(), inUse):        "free address with --http ",
		fmt.Errorf("ops: listen admin %s: %w", busy.Addr(), inUse):        "free address with --admin",
		fmt.Errorf("%w: edge-data/edge.db", cache.ErrLocked):              "its own --data",
	} {
		got := startHint(in)
		if !errors.Is(got, errors.Unwrap(in)) || !strings.Contains(got.Error(), want) {
			t.Errorf("startHint(%v) = %v, want it wrapped with %q", in, got, want)
		}
	}
	other := errors.New("something else")
	if got := startHint(other); got != other {
		t.Errorf("startHint changed an unrelated error: %v", got)
	}
}

// TestServeTwiceOnOneDataDir: a second node on a running node's data
// directory exits 1 saying so and what to do, and the first node carries
// on serving.
func TestServeTwiceOnOneDataDir(t *testing.T) {
	data := t.TempDir()
	first := startNode(t, data)
	out, code := edgeCLI(t, "serve", "--data", data, "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0")
	if code != 1 || !strings.Contains(out, "another edge serve uses this data directory") {
		t.Errorf("second serve on one data dir: exit %d\n%s", code, out)
	}
	resp, err := http.Get(first.banner.http + "/")
	if err != nil {
		t.Fatalf("first node after the second one failed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("first node answers %d", resp.StatusCode)
	}
}
