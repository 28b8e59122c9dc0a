package edge

import (
	"bytes"
	"crypto/sha256"
	ctls "crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/httpcache"
)

// countingListener counts the write calls made on each accepted conn:
// each one is a write(2) on a real socket.
type countingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*countingConn
}

type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countingConn{Conn: c}
	l.mu.Lock()
	l.conns = append(l.conns, cc)
	l.mu.Unlock()
	return cc, nil
}

// writes is the number of writes on every conn so far.
func (l *countingListener) writes() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for _, c := range l.conns {
		n += c.writes.Load()
	}
	return n
}

// corkedServer serves h over HTTP/1.1 with TLS, corked as Server does,
// counting the writes beneath TLS.
func corkedServer(t *testing.T, h http.Handler) (*httptest.Server, *countingListener) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	counted := &countingListener{Listener: srv.Listener}
	srv.Listener = corkTLS(srv.Config, counted)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, counted
}

// staticHandler is a Handler serving files from "/...".
func staticHandler(t *testing.T, files map[string][]byte) *Handler {
	t.Helper()
	fsys := fstest.MapFS{"edge.toml": {Data: []byte(
		"name = \"site\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\n")}}
	for name, data := range files {
		fsys["public/"+name] = &fstest.MapFile{Data: data, ModTime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	}
	a, err := app.LoadApp(fsys, "site", app.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	router := NewRouter()
	if err := router.Set([]*app.App{a}); err != nil {
		t.Fatal(err)
	}
	return NewHandler(HandlerConfig{Router: router, Log: slog.New(slog.DiscardHandler)})
}

func patterned(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26 + i/4096)
	}
	return b
}

// TestCorkedStaticResponses: every static response to a small file,
// whole, HEAD, ranged or 304, arrives byte-exact over HTTP/1.1 with TLS
// and leaves the server in one write. Without the cork a 4 KiB file took
// two: net/http's 4 KiB buffer cannot hold its headers and body at once.
func TestCorkedStaticResponses(t *testing.T) {
	small, large := patterned(4096), patterned(200<<10)
	sum := sha256.Sum256(small)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	srv, counted := corkedServer(t, staticHandler(t, map[string][]byte{"4k.bin": small, "big.bin": large}))
	c := srv.Client()
	first := true
	for _, tc := range []struct {
		name, method, path, header, value string
		status                            int
		body                              []byte
		oneWrite                          bool
	}{
		{"GET", "GET", "/4k.bin", "", "", 200, small, true},
		{"HEAD", "HEAD", "/4k.bin", "", "", 200, nil, true},
		{"Range", "GET", "/4k.bin", "Range", "bytes=100-4000", 206, small[100:4001], true},
		{"multi-range", "GET", "/4k.bin", "Range", "bytes=0-9,4000-4095", 206, nil, true},
		{"304", "GET", "/4k.bin", "If-None-Match", etag, 304, nil, true},
		{"missing", "GET", "/nope", "", "", 404, nil, false},
		{"large, not corked", "GET", "/big.bin", "", "", 200, large, false},
		{"GET again", "GET", "/4k.bin", "", "", 200, small, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.header != "" {
				req.Header.Set(tc.header, tc.value)
			}
			before := counted.writes()
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			writes := counted.writes() - before
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.body != nil && !bytes.Equal(got, tc.body) {
				t.Fatalf("body of %d bytes differs from the %d expected", len(got), len(tc.body))
			}
			if tc.method == "HEAD" && len(got) != 0 {
				t.Fatalf("HEAD has a body of %d bytes", len(got))
			}
			if tc.name == "multi-range" && (!bytes.Contains(got, small[:10]) || !bytes.Contains(got, small[4000:])) {
				t.Fatalf("multipart body lacks a part:\n%q", got)
			}
			if first { // the first request's writes include the handshake
				first = false
				return
			}
			if tc.oneWrite && writes != 1 {
				t.Fatalf("response left in %d writes, want 1", writes)
			}
		})
	}
}

// TestCorkReleasedOnPanicAndAbort: a handler that panics, or whose client
// has gone, while its conn is corked leaves nothing held, and the server
// serves the next connection.
func TestCorkReleasedOnPanicAndAbort(t *testing.T) {
	var last atomic.Pointer[corkConn]
	written := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cc := corkFor(r)
		if cc == nil {
			panic("no cork on an HTTP/1.1 TLS conn")
		}
		last.Store(cc)
		cc.Cork()
		defer cc.Uncork()
		w.Header().Set("Content-Length", "3")
		if r.URL.Path == "/panic" {
			w.Header().Set("Content-Length", "6")
		}
		_, _ = w.Write([]byte("abc"))
		switch r.URL.Path {
		case "/panic":
			cc.send(w) // held when it panics
			panic(http.ErrAbortHandler)
		case "/abort":
			cc.send(w) // held, not yet sent
			written <- struct{}{}
			<-r.Context().Done() // the client has gone
		}
		cc.send(w)
	})
	srv, _ := corkedServer(t, h)
	released := func(t *testing.T) {
		t.Helper()
		cc := last.Load()
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if cc.corked || len(cc.held) > 0 {
			t.Fatalf("conn left corked=%v with %d bytes held", cc.corked, len(cc.held))
		}
	}

	t.Run("panic", func(t *testing.T) {
		c := srv.Client()
		if resp, err := c.Get(srv.URL + "/panic"); err == nil {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				t.Fatalf("a panicking handler answered %s %q in full", resp.Status, body)
			}
		}
		waitUncorked(t, &last)
		released(t)
	})
	t.Run("client abort", func(t *testing.T) {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		tc := tlsClient(srv, conn)
		if _, err := fmt.Fprintf(tc, "GET /abort HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-written:
		case <-time.After(time.Minute): // a hang guard, not a timing check
			t.Fatal("the handler never wrote")
		}
		tc.Close()
		waitUncorked(t, &last)
		released(t)
	})
	t.Run("next request", func(t *testing.T) {
		c := srv.Client()
		c.Transport.(*http.Transport).CloseIdleConnections()
		resp, err := c.Get(srv.URL + "/ok")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "abc" {
			t.Fatalf("body %q", body)
		}
		released(t)
	})
}

// tlsClient is a TLS client of srv on conn.
func tlsClient(srv *httptest.Server, conn net.Conn) *ctls.Conn {
	conf := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	conf.ServerName = "127.0.0.1"
	return ctls.Client(conn, conf)
}

// waitUncorked polls until the last corked conn holds nothing: the
// handler's deferred Uncork runs after the client saw the conn end.
func waitUncorked(t *testing.T, last *atomic.Pointer[corkConn]) {
	t.Helper()
	for range 500 {
		cc := last.Load()
		cc.mu.Lock()
		done := !cc.corked
		cc.mu.Unlock()
		if done {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the conn stayed corked")
}

// TestCorkOverflow: writes past maxCorked while corked go out in order,
// none lost or repeated.
func TestCorkOverflow(t *testing.T) {
	a, b := net.Pipe()
	cc := &corkConn{Conn: a}
	want := patterned(3 * maxCorked)
	got := make(chan []byte)
	go func() {
		data, _ := io.ReadAll(b)
		got <- data
	}()
	cc.Cork()
	for p := want; len(p) > 0; {
		n := min(len(p), 5000)
		if _, err := cc.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	cc.Uncork()
	a.Close()
	if data := <-got; !bytes.Equal(data, want) {
		t.Fatalf("got %d bytes, want %d, or out of order", len(data), len(want))
	}
}

// TestCorkedCacheHit: a cache hit of a small object leaves in one write
// over HTTP/1.1 with TLS, as a static file does, byte-exact.
func TestCorkedCacheHit(t *testing.T) {
	body := patterned(4096)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(body)
	}))
	t.Cleanup(origin.Close)
	a, err := app.LoadApp(fstest.MapFS{"edge.toml": {Data: []byte(fmt.Sprintf(
		"name = \"cdn\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\norigin = %q\n", origin.URL))}}, "cdn", app.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	router := NewRouter()
	if err := router.Set([]*app.App{a}); err != nil {
		t.Fatal(err)
	}
	hc, err := httpcache.New(httpcache.Config{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv, counted := corkedServer(t, NewHandler(HandlerConfig{Router: router, HTTPCache: hc, Log: slog.New(slog.DiscardHandler)}))
	c := srv.Client()
	for i := range 3 {
		before := counted.writes()
		resp, err := c.Get(srv.URL + "/obj")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("request %d: %d bytes, err %v", i, len(got), err)
		}
		if i > 0 { // the first is the miss, and the handshake
			if resp.Header.Get("X-Cache") != "HIT" {
				t.Fatalf("request %d: X-Cache %q", i, resp.Header.Get("X-Cache"))
			}
			if n := counted.writes() - before; n != 1 {
				t.Fatalf("hit left in %d writes, want 1", n)
			}
		}
	}
}
