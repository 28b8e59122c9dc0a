package h1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func readResp(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// expectClosed waits for the server to close c, reading what it sends.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("conn ended with %v, want a close", err)
	}
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, "hello "+r.URL.Path)
})

// TestSlowloris: a head trickled past ReadHeaderTimeout gets the conn
// closed, unanswered, and never handed off (whose server would give it a
// new timeout).
func TestSlowloris(t *testing.T) {
	ts := startServer(t, Config{ReadHeaderTimeout: 200 * time.Millisecond}, hello)
	c := ts.dial(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, b := range []byte("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaa") {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	expectClosed(t, c)
	<-done
	if ts.Served() != 0 || ts.HandedOff() != 0 {
		t.Fatalf("served %d, handed off %d", ts.Served(), ts.HandedOff())
	}
}

// TestIdleTimeout: a conn with no request after its response is closed.
func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, Config{IdleTimeout: 100 * time.Millisecond}, hello)
	c := ts.dial(t)
	_, _ = io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	if _, body := readResp(t, br, "GET"); body != "hello /a" {
		t.Fatalf("body %q", body)
	}
	expectClosed(t, c)
}

// TestPipelinedInOrder: requests sent in one write are answered in
// order on one conn, and the conn is reused by a client.
func TestPipelinedInOrder(t *testing.T) {
	ts := startServer(t, Config{}, hello)
	c := ts.dial(t)
	_, _ = io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	for i, m := range []string{"GET", "HEAD", "GET"} {
		resp, body := readResp(t, br, m)
		want := "hello /" + string(rune('1'+i))
		if m == "HEAD" {
			want = ""
			if resp.ContentLength != int64(len("hello /2")) {
				t.Errorf("HEAD Content-Length %d", resp.ContentLength)
			}
		}
		if body != want {
			t.Fatalf("response %d: %q, want %q", i, body, want)
		}
	}
	cl := &http.Client{}
	for range 5 {
		resp, err := cl.Get("http://" + ts.addr + "/k")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := ts.accepted.Load(); n != 2 {
		t.Fatalf("%d conns for one pipelined conn and 5 keep-alive requests, want 2", n)
	}
	if ts.Served() != 8 {
		t.Fatalf("served %d", ts.Served())
	}
}

// TestStreamingFlush: a response without a length is chunked, and each
// Flush sends what was written: the client reads the first part while
// the handler waits.
func TestStreamingFlush(t *testing.T) {
	next := make(chan struct{})
	ts := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first;")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Error(err)
		}
		<-next
		_, _ = io.WriteString(w, "second")
	}))
	resp, err := http.Get("http://" + ts.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("transfer encoding %v", resp.TransferEncoding)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first;" {
		t.Fatalf("%q %v", buf, err)
	}
	close(next)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "second" {
		t.Fatalf("%q", rest)
	}
}

// TestStatusWithoutBody: 204 and 304 carry no body and no length, HEAD
// no body; a large body with a length arrives whole.
func TestStatusWithoutBody(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	ts := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", "5")
			w.WriteHeader(304)
		default:
			w.Header().Set("Content-Length", "102400")
			_, _ = io.WriteString(w, big)
		}
	}))
	c := ts.dial(t)
	_, _ = io.WriteString(c, "GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /big HTTP/1.1\r\nHost: x\r\n\r\nGET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	for _, tc := range []struct {
		method string
		status int
		cl     int64
		body   string
	}{{"GET", 204, 0, ""}, {"GET", 304, 0, ""}, {"HEAD", 200, 100 << 10, ""}, {"GET", 200, 100 << 10, big}} {
		resp, body := readResp(t, br, tc.method)
		if resp.StatusCode != tc.status || body != tc.body || (tc.status != 304 && resp.ContentLength != tc.cl) {
			t.Fatalf("%d cl=%d %d bytes, want %d cl=%d %d bytes", resp.StatusCode, resp.ContentLength, len(body), tc.status, tc.cl, len(tc.body))
		}
		if _, ok := resp.Header["Content-Length"]; ok && tc.status != 200 {
			t.Fatalf("%d with a Content-Length", tc.status)
		}
		if tc.status == 304 && resp.Header.Get("Content-Type") != "" {
			t.Fatal("304 with a Content-Type")
		}
	}
}

// TestClientGone: a client that leaves mid-response, or while the
// handler waits without writing, cancels the request's context.
func TestClientGone(t *testing.T) {
	canceled := make(chan string, 2)
	ts := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			for r.Context().Err() == nil {
				if _, err := w.Write(make([]byte, 16<<10)); err != nil {
					break
				}
			}
		} else {
			<-r.Context().Done()
		}
		canceled <- r.URL.Path
	}))
	for _, p := range []string{"/stream", "/wait"} {
		c := ts.dial(t)
		_, _ = io.WriteString(c, "GET "+p+" HTTP/1.1\r\nHost: x\r\n\r\n")
		if p == "/stream" {
			if _, err := io.ReadFull(c, make([]byte, 1000)); err != nil {
				t.Fatal(err)
			}
		} else {
			time.Sleep(2 * watchDelay) // let the request start its watch
		}
		c.Close()
		if got := <-canceled; got != p {
			t.Fatalf("%s ended, want %s", got, p)
		}
	}
}

// TestShutdownInFlight: Shutdown closes idle conns, lets a request in
// flight finish (its response says Connection: close) and then returns.
func TestShutdownInFlight(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	ts := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		_, _ = io.WriteString(w, "done")
	}))
	idle := ts.dial(t)
	_, _ = io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	readResp(t, bufio.NewReader(idle), "GET")
	busy := ts.dial(t)
	_, _ = io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started
	var shut atomic.Bool
	errc := make(chan error, 1)
	go func() { errc <- ts.Shutdown(context.Background()); shut.Store(true) }()
	expectClosed(t, idle)
	if shut.Load() {
		t.Fatal("Shutdown returned with a request in flight")
	}
	close(release)
	resp, body := readResp(t, bufio.NewReader(busy), "GET")
	if body != "done" || !resp.Close {
		t.Fatalf("%q close=%v", body, resp.Close)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", ts.addr); err == nil {
		// the test's accept loop still runs; h1 must refuse the conn
		c := ts.dial(t)
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
			t.Fatalf("a conn accepted after Shutdown was answered %d", resp.StatusCode)
		}
	}
}

// TestPanicClosesConn: a panicking handler loses its conn, not the
// server; http.ErrAbortHandler likewise.
func TestPanicClosesConn(t *testing.T) {
	ts := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			panic("boom")
		case "/abort":
			panic(http.ErrAbortHandler)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	for _, p := range []string{"/panic", "/abort"} {
		c := ts.dial(t)
		_, _ = io.WriteString(c, "GET "+p+" HTTP/1.1\r\nHost: x\r\n\r\n")
		expectClosed(t, c)
	}
	resp, err := http.Get("http://" + ts.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestHandOffReplays: a request h1 does not serve reaches net/http with
// its body, after the GETs before it on the conn.
func TestHandOffReplays(t *testing.T) {
	ts := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.Method+" "+string(b))
	}))
	c := ts.dial(t)
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []string{"GET ", "POST abc", "GET "} {
		if _, body := readResp(t, br, "GET"); body != want {
			t.Fatalf("%q, want %q", body, want)
		}
	}
	if ts.Served() != 1 || ts.HandedOff() != 1 {
		t.Fatalf("served %d, handed off %d", ts.Served(), ts.HandedOff())
	}
}
