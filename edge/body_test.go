package edge_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
)

// rawRequest writes head (a request without its body, or with part of
// it) on a new connection and returns the connection, unread.
func rawRequest(t *testing.T, addr, head string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c
}

// readStatus reads one response from c; a node that waits for a body
// nobody sends fails the test after a generous deadline instead of
// hanging it.
func readStatus(t *testing.T, c net.Conn) *http.Response {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	resp.Body.Close()
	return resp
}

func post(path string, length int64, host string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", path, host, length)
}

// TestBodyOverLimitRefusedAtOnce: a declared Content-Length over the
// limit gets 413 before any of the body is sent.
func TestBodyOverLimitRefusedAtOnce(t *testing.T) {
	n := startNode(t, edge.HandlerConfig{Log: quietLog, MaxBody: 1 << 20}, loadHostile(t))
	c := rawRequest(t, n.srv.HTTPAddr(), post("/good", 100<<20, "x"))
	if resp := readStatus(t, c); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("Content-Length 100 MiB, no body sent: %d, want 413 at once", resp.StatusCode)
	}
}

// TestBodyBudget holds the whole body budget with a slow upload: another
// upload waits, then gets 503 with Retry-After; the slow upload holds no
// guest slot; once it ends the budget is free again.
func TestBodyBudget(t *testing.T) {
	n := startNode(t, edge.HandlerConfig{Log: quietLog, MaxBody: 1 << 20, MaxBodyMemory: 1 << 20, QueueWait: 100 * time.Millisecond}, loadHostile(t))
	addr := n.srv.HTTPAddr()
	slow := rawRequest(t, addr, post("/good", 1<<20, "x")+"first bytes")
	// The budget is held once a small body cannot get in.
	var resp *http.Response
	eventually(t, func() bool {
		c := rawRequest(t, addr, post("/good", 10, "x")+"0123456789")
		resp = readStatus(t, c)
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	if resp.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if got := n.handler.Limiter().InFlight(); got != 0 {
		t.Errorf("a slow upload holds %d guest slots, want 0", got)
	}
	if got := n.handler.Stats().BodyBudgetFull.Load(); got == 0 {
		t.Error("BodyBudgetFull not counted")
	}
	if got := n.handler.BodyMemory(); got != 1<<20 {
		t.Errorf("body memory held = %d, want the slow upload's 1 MiB", got)
	}
	slow.Close()
	eventually(t, func() bool {
		c := rawRequest(t, addr, post("/good", 10, "x")+"0123456789")
		return readStatus(t, c).StatusCode == http.StatusOK
	})
	eventually(t, func() bool { return n.handler.BodyMemory() == 0 }) // nothing leaked
}

// TestUnsizedBodyLimits sends chunked bodies: one at the limit reaches
// the guest whole, one byte more gets 413.
func TestUnsizedBodyLimits(t *testing.T) {
	const limit = 200_000
	dir := writeApp(t, "name = \"echo\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/echo\"\nmodule = \"echo.wasm\"\n", map[string]string{"echo": watEcho})
	ap, err := app.LoadAppDir(dir, app.LoadOptions{Engine: newTestEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, edge.HandlerConfig{Log: quietLog, MaxBody: limit}, ap)
	for proto, cl := range n.clients(t) {
		for _, size := range []int{limit, limit + 1} {
			body := strings.Repeat("e", size)
			// A reader of unknown length: chunked on h1, no length on h2/h3.
			resp, err := cl.c.Post(cl.base+"/echo", "text/plain", io.MultiReader(strings.NewReader(body)))
			if err != nil {
				t.Fatalf("%s: %v", proto, err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := http.StatusOK
			if size > limit {
				want = http.StatusRequestEntityTooLarge
			}
			if resp.StatusCode != want || (want == 200 && string(got) != body) {
				t.Errorf("%s: %d-byte unsized body: %d, %d bytes back; want %d", proto, size, resp.StatusCode, len(got), want)
			}
		}
	}
}
