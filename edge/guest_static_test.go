package edge_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
)

// watHeaders is a WAGI guest whose whole output is out.
func watHeaders(out string) string {
	return fmt.Sprintf(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) %q)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const %d))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`, out, len(out))
}

const guestStaticManifest = `
name = "gs"
hosts = ["*"]
[[routes]]
path = "/private/..."
static = "private"
internal = true
cache_control = "no-store"
[[routes]]
path = "/pub/..."
static = "pub"
[[routes]]
path = "/get"
module = "get.wasm"
[[routes]]
path = "/elsewhere"
module = "elsewhere.wasm"
[[routes]]
path = "/dynamic"
module = "dynamic.wasm"
`

func startGuestStatic(t *testing.T) (*node, string) {
	t.Helper()
	dir := writeApp(t, guestStaticManifest, map[string]string{
		"get":       watHeaders("X-Edge-Static: /private/seg.bin\nCache-Control: public, max-age=31536000, immutable\nX-Checked: yes\n\n"),
		"elsewhere": watHeaders("X-Edge-Static: /nothere/x\n\n"),
		"dynamic":   watHeaders("X-Edge-Static: /get\n\n"),
	})
	for _, d := range []string{"private", "pub"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	seg := strings.Repeat("0123456789", 1000)
	if err := os.WriteFile(filepath.Join(dir, "private", "seg.bin"), []byte(seg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pub", "a.txt"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	ap, err := app.LoadAppDir(dir, app.LoadOptions{Engine: newTestEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	return startNode(t, edge.HandlerConfig{Log: quietLog}, ap), seg
}

// TestGuestStaticInternalRoute: an internal static route answers nothing
// by itself; a module that names one of its files gets it served by the
// node, with Range and the module's Cache-Control, on every protocol;
// X-Edge-Static never reaches the client.
func TestGuestStaticInternalRoute(t *testing.T) {
	n, seg := startGuestStatic(t)
	for proto, c := range n.clients(t) {
		t.Run(proto, func(t *testing.T) {
			resp, body := get(t, c.c, c.base+"/private/seg.bin")
			if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "0123") {
				t.Fatalf("internal file requested directly: %d %q", resp.StatusCode, body[:min(len(body), 40)])
			}
			resp, body = get(t, c.c, c.base+"/get")
			if resp.StatusCode != http.StatusOK || body != seg {
				t.Fatalf("through the module: %d, %d bytes", resp.StatusCode, len(body))
			}
			if got := resp.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control %q, want the module's", got)
			}
			if resp.Header.Get("X-Checked") != "yes" || resp.Header.Get(edge.StaticHeader) != "" || resp.Header.Get("ETag") == "" {
				t.Errorf("headers %v", resp.Header)
			}
			req, _ := http.NewRequest(http.MethodGet, c.base+"/get", nil)
			req.Header.Set("Range", "bytes=10-19")
			rr, err := c.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			part, _ := io.ReadAll(rr.Body)
			rr.Body.Close()
			if rr.StatusCode != http.StatusPartialContent || string(part) != "0123456789" {
				t.Errorf("range through the module: %d %q", rr.StatusCode, part)
			}
		})
	}
}

// TestGuestStaticRefusesWhatIsNotStatic: a module naming a path with no
// static route, or a dynamic route, gets 502: no loop, no leak.
func TestGuestStaticRefusesWhatIsNotStatic(t *testing.T) {
	n, _ := startGuestStatic(t)
	c := n.clients(t)["HTTP/2.0"]
	for _, p := range []string{"/elsewhere", "/dynamic"} {
		resp, body := get(t, c.c, c.base+p)
		if resp.StatusCode != http.StatusBadGateway || resp.Header.Get(edge.StaticHeader) != "" {
			t.Errorf("%s: %d %q", p, resp.StatusCode, body)
		}
	}
}
