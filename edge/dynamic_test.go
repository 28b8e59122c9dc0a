package edge_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
)

// Hostile WAT guests, each misbehaving in one way.
const (
	watGood = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Content-Type: text/plain\n\ngood")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 30))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`
	// watEcho copies its stdin to stdout.
	watEcho = `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "Content-Type: text/plain\n\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 26))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop
      (i32.store (i32.const 16) (i32.const 4096)) (i32.store (i32.const 20) (i32.const 4096))
      (drop (call $r (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
      (if (i32.gt_u (i32.load (i32.const 24)) (i32.const 0))
        (then
          (i32.store (i32.const 20) (i32.load (i32.const 24)))
          (drop (call $w (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
          (br 1))))))`
	watLoop = `(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))`
	watTrap = `(module (memory (export "memory") 1) (func (export "_start") unreachable))`
	watBomb = `(module (memory (export "memory") 1)
  (func (export "_start")
    (loop (br_if 0 (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable))`
	// watFlood writes 64 KiB chunks 1600 times: 100 MiB in all.
	watFlood = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 65536) "Content-Type: text/plain\n\n")
  (func (export "_start") (local $i i32)
    (i32.store (i32.const 0) (i32.const 65536)) (i32.store (i32.const 4) (i32.const 65536))
    (loop
      (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get $i) (i32.const 1600))))))`
	// watGarbage prints something that is not a CGI response.
	watGarbage = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "just some text\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 15))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`
)

// writeApp writes an app directory: edge.toml plus the named WAT guests
// compiled to name.wasm.
func writeApp(t testing.TB, manifest string, guests map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "edge.toml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, wat := range guests {
		wasm, err := wasmtime.Wat2Wasm(wat)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), wasm, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const hostileManifest = `
name = "hostile"
hosts = ["*"]
[[routes]]
path = "/good"
module = "good.wasm"
[[routes]]
path = "/loop"
module = "loop.wasm"
timeout = "300ms"
[[routes]]
path = "/trap"
module = "trap.wasm"
[[routes]]
path = "/bomb"
module = "bomb.wasm"
memory = "32MiB"
[[routes]]
path = "/flood"
module = "flood.wasm"
[[routes]]
path = "/garbage"
module = "garbage.wasm"
`

func loadHostile(t testing.TB) *app.App {
	t.Helper()
	dir := writeApp(t, hostileManifest, map[string]string{
		"good": watGood, "loop": watLoop, "trap": watTrap, "bomb": watBomb, "flood": watFlood, "garbage": watGarbage,
	})
	ap, err := app.LoadAppDir(dir, app.LoadOptions{Engine: newTestEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestHostileGuests sends each hostile guest its request while good
// requests run alongside: each hostile one gets its status, every good one
// succeeds, and the node keeps serving afterwards.
func TestHostileGuests(t *testing.T) {
	n := startNode(t, edge.HandlerConfig{Log: quietLog}, loadHostile(t))
	cl := n.clients(t)["HTTP/2.0"]
	want := map[string]int{
		"/loop": http.StatusGatewayTimeout, "/trap": http.StatusInternalServerError,
		"/bomb": http.StatusInternalServerError, "/flood": http.StatusBadGateway,
		"/garbage": http.StatusBadGateway,
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	for path, status := range want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := cl.c.Get(cl.base + path)
			if err != nil {
				fail("%s: %v", path, err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			id := resp.Header.Get("X-Request-Id")
			if resp.StatusCode != status || id == "" || !strings.Contains(string(body), id) {
				fail("%s = %d (id %q) %q, want %d and the request id in the body", path, resp.StatusCode, id, body, status)
			}
		}()
	}
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := cl.c.Get(cl.base + "/good")
			if err != nil {
				fail("/good: %v", err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "good" {
				fail("/good = %d %q while hostile guests ran", resp.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	if resp, body := get(t, cl.c, cl.base+"/good"); resp.StatusCode != 200 || body != "good" {
		t.Errorf("after the hostile guests: /good = %d %q", resp.StatusCode, body)
	}
}

// TestOverloadQueuesThenRefuses holds the node's only guest slot with a
// slow guest: a request queued behind it for longer than the queue wait
// gets 503 with Retry-After; once the slot is free requests succeed.
func TestOverloadQueuesThenRefuses(t *testing.T) {
	n := startNode(t, edge.HandlerConfig{Log: quietLog, MaxInFlight: 1, MaxQueue: 4, QueueWait: 50 * time.Millisecond}, loadHostile(t))
	cl := n.clients(t)["HTTP/1.1"]
	slow := make(chan int, 1)
	go func() {
		resp, err := cl.c.Get(cl.base + "/loop") // holds the slot for its 300ms deadline
		if err != nil {
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	eventually(t, func() bool { return n.handler.Limiter().InFlight() == 1 })
	resp, _ := get(t, cl.c, cl.base+"/good")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("with the slot held: /good = %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got := <-slow; got != http.StatusGatewayTimeout {
		t.Errorf("slow guest = %d, want 504", got)
	}
	if resp, body := get(t, cl.c, cl.base+"/good"); resp.StatusCode != 200 || body != "good" {
		t.Errorf("after the slot freed: /good = %d %q", resp.StatusCode, body)
	}
}

// TestQueuedRequestGetsSlot: a request that waits less than the queue
// deadline is served, not refused.
func TestQueuedRequestGetsSlot(t *testing.T) {
	n := startNode(t, edge.HandlerConfig{Log: quietLog, MaxInFlight: 1, MaxQueue: 4, QueueWait: 5 * time.Second}, loadHostile(t))
	cl := n.clients(t)["HTTP/1.1"]
	go func() {
		if resp, err := cl.c.Get(cl.base + "/loop"); err == nil {
			resp.Body.Close()
		}
	}()
	eventually(t, func() bool { return n.handler.Limiter().InFlight() == 1 })
	resp, body := get(t, cl.c, cl.base+"/good")
	if resp.StatusCode != 200 || body != "good" {
		t.Errorf("queued /good = %d %q, want 200 after the slot frees", resp.StatusCode, body)
	}
}

func TestRequestBodyReachesGuestAndIsCapped(t *testing.T) {
	dir := writeApp(t, "name = \"echo\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/echo\"\nmodule = \"echo.wasm\"\n", map[string]string{"echo": watEcho})
	ap, err := app.LoadAppDir(dir, app.LoadOptions{Engine: newTestEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, edge.HandlerConfig{Log: quietLog, MaxBody: 1 << 20}, ap)
	for proto, cl := range n.clients(t) {
		body := bytes.Repeat([]byte("edge "), 100_000) // 500 kB
		resp, err := cl.c.Post(cl.base+"/echo", "text/plain", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, body) {
			t.Errorf("%s: echo = %d, %d bytes, want 200 and %d bytes back", proto, resp.StatusCode, len(got), len(body))
		}
		resp, err = cl.c.Post(cl.base+"/echo", "text/plain", bytes.NewReader(make([]byte, 2<<20)))
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: 2 MiB body = %d, want 413", proto, resp.StatusCode)
		}
	}
}

// eventually polls cond until it holds or a generous timeout fails the test.
func eventually(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestEdgeExecutor serves an edge ABI guest over every protocol, and
// refuses at load a module that lacks the export its executor calls.
func TestEdgeExecutor(t *testing.T) {
	const guest = `(module
  (import "edge_v1" "request" (func $request (param i32 i32) (result i32)))
  (import "edge_v1" "respond" (func $respond (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "Content-Type: text/plain\n")
  (func (export "edge_handle") (result i32) (local $n i32) (local $i i32)
    (local.set $n (call $request (i32.const 4096) (i32.const 60000)))
    (block $done (loop $scan
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (br_if $done (i32.eq (i32.load8_u (i32.add (i32.const 4096) (local.get $i))) (i32.const 10)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $scan)))
    (drop (call $respond (i32.const 200) (i32.const 16) (i32.const 25) (i32.const 4096) (local.get $i)))
    (i32.const 0)))`
	dir := writeApp(t, "name = \"abi\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/abi/...\"\nmodule = \"abi.wasm\"\nexecutor = \"edge\"\n", map[string]string{"abi": guest})
	ap, err := app.LoadAppDir(dir, app.LoadOptions{Engine: newTestEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, edge.HandlerConfig{Log: quietLog}, ap)
	for proto, cl := range n.clients(t) {
		resp, body := get(t, cl.c, cl.base+"/abi/x?y=1")
		if resp.StatusCode != 200 || body != "GET /abi/x?y=1" {
			t.Errorf("%s: %d %q", proto, resp.StatusCode, body)
		}
	}
	wrong := writeApp(t, "name = \"abi\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/\"\nmodule = \"good.wasm\"\nexecutor = \"edge\"\n", map[string]string{"good": watGood})
	if _, err := app.LoadAppDir(wrong, app.LoadOptions{Engine: newTestEngine(t)}); err == nil || !strings.Contains(err.Error(), "edge_handle") {
		t.Errorf("a WAGI module on an edge route: err = %v, want it to name edge_handle", err)
	}
}
