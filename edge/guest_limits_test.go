package edge_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
)

// watSleep sleeps 30 s in WASI poll_oneoff, then answers "woke".
const watSleep = `(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "Content-Type: text/plain\n\nwoke")
  (func (export "_start")
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 30000000000))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    (i32.store (i32.const 144) (i32.const 256)) (i32.store (i32.const 148) (i32.const 30))
    (drop (call $w (i32.const 1) (i32.const 144) (i32.const 1) (i32.const 152)))))`

// loadSleepy loads an app named name on host with /sleep (a 30 s sleeper
// under the given timeout) and /good.
func loadSleepy(t testing.TB, name, host, timeout string) *app.App {
	t.Helper()
	manifest := fmt.Sprintf(`name = %q
hosts = [%q]
[[routes]]
path = "/sleep"
module = "sleep.wasm"
timeout = %q
[[routes]]
path = "/good"
module = "good.wasm"
`, name, host, timeout)
	dir := writeApp(t, manifest, map[string]string{"sleep": watSleep, "good": watGood})
	ap, err := app.LoadAppDir(dir, app.LoadOptions{Engine: newTestEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// TestSleeperStoppedAtDeadline: a guest sleeping 30 s in poll_oneoff on a
// route with a 200 ms timeout gets 504 on every protocol, is counted as a
// deadline, and frees its slot. Before, it answered 200 after 30 s.
func TestSleeperStoppedAtDeadline(t *testing.T) {
	n := startNode(t, edge.HandlerConfig{Log: quietLog}, loadSleepy(t, "sleepy", "*", "200ms"))
	clients := n.clients(t)
	for proto, cl := range clients {
		t.Run(proto, func(t *testing.T) {
			resp, body := get(t, cl.c, cl.base+"/sleep")
			if resp.StatusCode != http.StatusGatewayTimeout {
				t.Errorf("/sleep = %d %q, want 504", resp.StatusCode, body)
			}
		})
	}
	if got := n.handler.Stats().GuestDeadlines.Load(); got != int64(len(clients)) {
		t.Errorf("deadline counter = %d, want %d", got, len(clients))
	}
	eventually(t, func() bool { return n.handler.Limiter().InFlight() == 0 })
}

// syncBuffer is a log destination safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestClientLeavingStopsSleeper: a client that gives up on a sleeping
// guest frees its slot at once, long before the route's deadline, and the
// request is logged as 499. Before, the slot stayed held for the sleep.
func TestClientLeavingStopsSleeper(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	n := startNode(t, edge.HandlerConfig{Log: log, AccessLog: true}, loadSleepy(t, "sleepy", "*", "1m"))
	for proto, cl := range n.clients(t) {
		t.Run(proto, func(t *testing.T) {
			before := n.handler.Stats().GuestCanceled.Load()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				req, _ := http.NewRequestWithContext(ctx, "GET", cl.base+"/sleep", nil)
				resp, err := cl.c.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				done <- err
			}()
			eventually(t, func() bool { return n.handler.Limiter().InFlight() == 1 })
			cancel()
			if err := <-done; err == nil {
				t.Fatal("the cancelled request got a response")
			}
			eventually(t, func() bool { return n.handler.Limiter().InFlight() == 0 })
			eventually(t, func() bool { return n.handler.Stats().GuestCanceled.Load() == before+1 })
		})
	}
	eventually(t, func() bool { return strings.Count(logs.String(), "status=499") >= 4 })
}

// TestHostileAppCannotStarveOthers: with two apps, one whose guests all
// sleep, the hostile app holds at most its share of the slots, and the
// other app's requests find a free slot and succeed.
func TestHostileAppCannotStarveOthers(t *testing.T) {
	const slots = 4 // share 75%: 3 for the hostile app, 1 always left
	hostile := loadSleepy(t, "hostile", "hostile.test", "1m")
	good := loadSleepy(t, "good", "good.test", "1m")
	n := startNode(t, edge.HandlerConfig{Log: quietLog, MaxInFlight: slots, MaxQueue: 64, QueueWait: time.Minute}, hostile, good)
	cl := n.clients(t)["plain"]
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // the sleepers end with their requests
	for range 2 * slots {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", cl.base+"/sleep", nil)
			req.Host = "hostile.test"
			if resp, err := cl.c.Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	lim := n.handler.Limiter()
	eventually(t, func() bool { return lim.InFlightApp("hostile") == slots*3/4 && lim.Waiting() == slots*5/4 })
	for i := range 10 {
		req, _ := http.NewRequest("GET", cl.base+"/good", nil)
		req.Host = "good.test"
		resp, err := cl.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("good request %d = %d while the hostile app sleeps, want 200", i, resp.StatusCode)
		}
	}
	if got := lim.InFlightApp("hostile"); got != slots*3/4 {
		t.Errorf("hostile app holds %d slots, want %d", got, slots*3/4)
	}
}

// TestSingleAppUsesEverySlot: a node serving one app gives it every slot.
func TestSingleAppUsesEverySlot(t *testing.T) {
	const slots = 4
	n := startNode(t, edge.HandlerConfig{Log: quietLog, MaxInFlight: slots, MaxQueue: 64, QueueWait: time.Minute}, loadSleepy(t, "only", "*", "1m"))
	cl := n.clients(t)["plain"]
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for range slots + 1 {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", cl.base+"/sleep", nil)
			if resp, err := cl.c.Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	lim := n.handler.Limiter()
	eventually(t, func() bool { return lim.InFlightApp("only") == slots && lim.Waiting() == 1 })
}

// watForge answers with the node's own headers among its CGI headers.
const watForge = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "Content-Type: text/plain\nX-Request-Id: forged\nAlt-Svc: h3=\"evil.example:443\"\nServer: evil\nDate: Thu, 01 Jan 1970 00:00:00 GMT\n\nforged")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 133))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`

// TestGuestCannotSetServerHeaders: a guest's X-Request-Id, Alt-Svc, Server
// and Date never reach the client; the node's own do. Before, a guest's
// CGI headers overwrote X-Request-Id and Alt-Svc.
func TestGuestCannotSetServerHeaders(t *testing.T) {
	dir := writeApp(t, "name = \"forge\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/forge\"\nmodule = \"forge.wasm\"\n", map[string]string{"forge": watForge})
	ap, err := app.LoadAppDir(dir, app.LoadOptions{Engine: newTestEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, edge.HandlerConfig{Log: quietLog}, ap)
	for proto, cl := range n.clients(t) {
		resp, body := get(t, cl.c, cl.base+"/forge")
		if resp.StatusCode != 200 || body != "forged" {
			t.Fatalf("%s: /forge = %d %q", proto, resp.StatusCode, body)
		}
		h := resp.Header
		if id := h.Get("X-Request-Id"); id == "forged" || len(id) != 16 {
			t.Errorf("%s: X-Request-Id %q, want the node's", proto, id)
		}
		if strings.Contains(h.Get("Alt-Svc"), "evil") || h.Get("Server") == "evil" || strings.Contains(h.Get("Date"), "1970") {
			t.Errorf("%s: the guest set the node's headers: %v", proto, h)
		}
		if proto == "HTTP/1.1" && h.Get("Alt-Svc") == "" {
			t.Errorf("%s: no Alt-Svc of the node's", proto)
		}
	}
}
