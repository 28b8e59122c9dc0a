package h2

import (
	"bytes"
	"context"
	"crypto/sha256"
	ctls "crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestServe: requests over the Go client arrive as HTTP/2 with TLS state
// and the client's address, and small and large bodies arrive whole.
func TestServe(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	ts, _ := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Proto != "HTTP/2.0" || r.ProtoMajor != 2 || r.TLS == nil || r.RemoteAddr == "" {
			http.Error(w, "bad request fields", 500)
			return
		}
		switch r.URL.Path {
		case "/small":
			w.Header().Set("X-Test", "yes")
			_, _ = w.Write([]byte("hello"))
		case "/big":
			_, _ = w.Write(big)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	cl := ts.Client()
	for _, c := range []struct {
		path   string
		status int
		body   []byte
	}{{"/small", 200, []byte("hello")}, {"/big", 200, big}, {"/empty", 204, nil}} {
		resp, err := cl.Get(ts.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 2 || resp.StatusCode != c.status || !bytes.Equal(body, c.body) {
			t.Fatalf("%s: %s %d, %d bytes", c.path, resp.Proto, resp.StatusCode, len(body))
		}
		if c.path == "/small" && (resp.Header.Get("X-Test") != "yes" || resp.ContentLength != 5 || resp.Header.Get("Content-Type") == "") {
			t.Fatalf("/small headers: %v, length %d", resp.Header, resp.ContentLength)
		}
	}
}

// TestUpload: a body larger than both windows arrives whole, which it
// can only if the server gives the window back as the handler reads.
func TestUpload(t *testing.T) {
	ts, _ := startServer(t, Config{StreamWindow: 64 << 10, ConnWindow: 128 << 10}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Trailer", "X-Sum")
		_, _ = io.WriteString(w, strings.Repeat("x", int(n%7)))
		w.Header().Set("X-Sum", string(h.Sum(nil)[:4]))
	}))
	body := bytes.Repeat([]byte("upload"), 3<<20/6)
	want := sha256.Sum256(body)
	resp, err := ts.Client().Post(ts.URL, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Trailer.Get("X-Sum") != string(want[:4]) {
		t.Fatalf("%d, trailer %q", resp.StatusCode, resp.Trailer.Get("X-Sum"))
	}
}

// TestFlush: a flushed part reaches the client while the handler still
// runs (it waits for the client to have read it).
func TestFlush(t *testing.T) {
	read := make(chan struct{})
	ts, _ := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first;")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Error(err)
		}
		select {
		case <-read:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "second")
	}))
	resp, err := ts.Client().Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first;" {
		t.Fatalf("%q %v", buf, err)
	}
	close(read)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "second" {
		t.Fatalf("rest %q", rest)
	}
}

// TestResetCancelsContext: RST_STREAM from the client cancels the
// request's context, so a blocked handler stops.
func TestResetCancelsContext(t *testing.T) {
	started, cancelled := make(chan struct{}), make(chan struct{})
	ts, _ := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		close(cancelled)
	}))
	c := dialRaw(t, ts)
	c.get(1, "/", true)
	<-started
	if err := c.fr.WriteRSTStream(1, http2.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cancelled:
	case <-time.After(20 * time.Second): // a hang guard, not a timing assert
		t.Fatal("the handler's context was not cancelled by RST_STREAM")
	}
}

// TestRapidReset (CVE-2023-44487): a client opening streams and
// resetting them at once, while their handlers run, gets GOAWAY
// ENHANCE_YOUR_CALM long before it has started thousands of handlers.
func TestRapidReset(t *testing.T) {
	var handlers atomic.Int64
	ts, _ := startServer(t, Config{MaxStreams: 10}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		<-r.Context().Done()
	}))
	c := dialRaw(t, ts)
	done := make(chan http2.ErrCode, 1)
	go func() { done <- c.goAway() }()
	for id := uint32(1); id < 20000; id += 2 {
		err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.headers("/"), EndStream: true, EndHeaders: true})
		if err == nil {
			err = c.fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}
		if err != nil {
			break // the server closed the connection
		}
	}
	if code := <-done; code != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("GOAWAY %v, want ENHANCE_YOUR_CALM", code)
	}
	if n := handlers.Load(); n > 200 {
		t.Fatalf("%d handlers started for a rapid-reset client", n)
	}
}

// TestContinuationFlood (CVE-2024-27316): endless CONTINUATION frames
// on one header block end the connection.
func TestContinuationFlood(t *testing.T) {
	ts, _ := startServer(t, Config{}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	c := dialRaw(t, ts)
	done := make(chan http2.ErrCode, 1)
	go func() { done <- c.goAway() }()
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.headers("/"), EndStream: true}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10000; i++ {
		if err := c.fr.WriteContinuation(1, false, nil); err != nil {
			break
		}
	}
	if code := <-done; code != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("GOAWAY %v, want ENHANCE_YOUR_CALM", code)
	}
}

// TestPingFlood: a client that only pings runs out of budget.
func TestPingFlood(t *testing.T) {
	ts, _ := startServer(t, Config{}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	c := dialRaw(t, ts)
	done := make(chan http2.ErrCode, 1)
	go func() { done <- c.goAway() }()
	for i := 0; i < 5000; i++ {
		if err := c.fr.WritePing(false, [8]byte{byte(i)}); err != nil {
			break
		}
	}
	if code := <-done; code != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("GOAWAY %v, want ENHANCE_YOUR_CALM", code)
	}
}

// TestHeaderListTooLarge: a header list past MaxHeaderBytes gets 431,
// whether one field or many are too large, and the connection (and its
// HPACK state) carries on.
func TestHeaderListTooLarge(t *testing.T) {
	ts, _ := startServer(t, Config{MaxHeaderBytes: 4 << 10}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	c := dialRaw(t, ts)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	status := func(id uint32, extra ...string) string {
		t.Helper()
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.headers("/", extra...), EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		for {
			f, err := c.fr.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			if h, ok := f.(*http2.MetaHeadersFrame); ok && h.StreamID == id {
				return h.PseudoValue("status")
			}
		}
	}
	if s := status(1, "x-big", strings.Repeat("b", 6<<10)); s != "431" {
		t.Fatalf("one large field: %s, want 431", s)
	}
	if s := status(3, "x-a", strings.Repeat("a", 3<<10), "x-b", strings.Repeat("b", 3<<10)); s != "431" {
		t.Fatalf("two fields past the limit: %s, want 431", s)
	}
	if s := status(5); s != "200" {
		t.Fatalf("after 431: %s", s)
	}
}

// TestGracefulShutdown: http.Server.Shutdown sends GOAWAY, lets the
// request in flight finish, and returns once it has.
func TestGracefulShutdown(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	ts, _ := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "finished")
	}))
	c := dialRaw(t, ts)
	c.get(1, "/", true)
	<-started
	shut := make(chan error, 1)
	go func() { shut <- ts.Config.Shutdown(context.Background()) }()
	sawGoAway, body := false, ""
	for body == "" {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			sawGoAway = true
			if f.ErrCode != http2.ErrCodeNo || f.LastStreamID != 1 {
				t.Fatalf("GOAWAY %v last %d", f.ErrCode, f.LastStreamID)
			}
			select {
			case err := <-shut:
				t.Fatalf("Shutdown returned (%v) with a request in flight", err)
			default:
			}
			close(release)
		case *http2.DataFrame:
			body = string(f.Data())
		}
	}
	if !sawGoAway || body != "finished" {
		t.Fatalf("GOAWAY %v, body %q", sawGoAway, body)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	c.closed()
}

// TestWriteDeadlineZeroWindow: a client that grants no window holds the
// response; the stream is reset once its write deadline passes.
func TestWriteDeadlineZeroWindow(t *testing.T) {
	ts, _ := startServer(t, Config{WriteTimeout: 200 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(make([]byte, 4<<10))
	}))
	c := dialRaw(t, ts)
	if err := c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}); err != nil {
		t.Fatal(err)
	}
	c.get(1, "/", true)
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("no RST_STREAM: %v", err)
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			if len(f.Data()) > 0 {
				t.Fatal("DATA past a zero window")
			}
		case *http2.RSTStreamFrame:
			return
		}
	}
}

// TestShutdownBeforePreface: a connection accepted just before a
// shutdown whose client sends its preface only after the GOAWAY is still
// closed closeGrace after it, and Shutdown returns: the preface's read
// must not clear the deadline the last GOAWAY set, or an idle client
// holds the connection, and the shutdown, open until its context ends.
func TestShutdownBeforePreface(t *testing.T) {
	ts, _ := startServer(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	conn, err := ctls.Dial("tcp", ts.Listener.Addr().String(), &ctls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fr := http2.NewFramer(conn, conn)
	if f, err := fr.ReadFrame(); err != nil {
		t.Fatal(err)
	} else if _, ok := f.(*http2.SettingsFrame); !ok {
		t.Fatalf("first frame %T, want the server's SETTINGS", f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- ts.Config.Shutdown(ctx) }()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no GOAWAY: %v", err)
		}
		if _, ok := f.(*http2.GoAwayFrame); ok {
			break
		}
	}
	// Not a wait for an event: the writer sets the closing deadline right
	// after the GOAWAY leaves; the preface must arrive after that.
	time.Sleep(100 * time.Millisecond)
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := fr.ReadFrame(); err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server kept the connection open")
			}
			break
		}
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v, want it to return once the connection closed", err)
	}
}
