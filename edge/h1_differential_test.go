package edge_test

import (
	"bufio"
	"context"
	ctls "crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgecdn/edge/edge"
	edgetls "github.com/edgecdn/edge/tls"
)

// echoHandler answers with what it saw of the request, so that two
// servers given the same bytes can be compared by their answers.
var echoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	keys := make([]string, 0, len(r.Header))
	for k, v := range r.Header {
		keys = append(keys, k+"="+strings.Join(v, "|"))
	}
	slices.Sort(keys)
	fmt.Fprintf(w, "%s %s %s host=%s close=%v tls=%v cl=%d body=%q err=%v\n%s\n",
		r.Method, r.RequestURI, r.Proto, r.Host, r.Close, r.TLS != nil, r.ContentLength, body, err != nil, strings.Join(keys, "\n"))
})

// rawExchange writes req on a fresh conn to addr, closes the write side
// and reads every response until the server closes.
func rawExchange(t *testing.T, addr string, tlsCfg *ctls.Config, req string) string {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var c net.Conn = nc
	if tlsCfg != nil {
		tc := ctls.Client(nc, tlsCfg)
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		c = tc
	}
	go func() {
		_, _ = io.WriteString(c, req)
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	}()
	br := bufio.NewReader(c)
	var out strings.Builder
	for {
		method := "GET"
		if strings.HasPrefix(req, "HEAD ") {
			method = "HEAD"
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return out.String()
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(&out, "%d cl=%d te=%v close=%v type=%q body=%q err=%v\n", resp.StatusCode, resp.ContentLength,
			resp.TransferEncoding, resp.Close, resp.Header.Get("Content-Type"), body, err != nil)
	}
}

// h1Pair starts the same handler behind --h1-server edge and std.
func h1Pair(t *testing.T, h http.Handler, tlsCfg *ctls.Config) (edgeSrv, stdSrv *edge.Server) {
	t.Helper()
	start := func(name string) *edge.Server {
		cfg := edge.ServerConfig{HTTPAddr: "127.0.0.1:0", H1: name, Log: quietLog}
		if tlsCfg != nil {
			cfg = edge.ServerConfig{HTTPSAddr: "127.0.0.1:0", TLS: tlsCfg, H1: name, Log: quietLog}
		}
		srv := edge.NewServer(cfg, h)
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
		return srv
	}
	return start(edge.H1Edge), start(edge.H1Std)
}

// TestH1Differential: the node's HTTP/1.1 server answers the same raw
// bytes as net/http does, serving the plain GET and HEAD itself and
// handing everything else to net/http: request smuggling shapes among
// them, which it must never parse itself.
func TestH1Differential(t *testing.T) {
	edgeSrv, stdSrv := h1Pair(t, echoHandler, nil)
	const get = "GET /a?b=1 HTTP/1.1\r\nHost: x.example\r\nUser-Agent: t\r\n\r\n"
	cases := []struct {
		name   string
		req    string
		served bool // the edge server answers it itself (else hands off)
	}{
		{"get", get, true},
		{"head", "HEAD /a HTTP/1.1\r\nHost: x.example\r\n\r\n", true},
		{"keep-alive three", get + get + get, true},
		{"connection close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + get, true},
		{"connection keep-alive", "GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n", true},
		{"pragma", "GET / HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\n\r\n", true},
		{"repeated field", "GET / HTTP/1.1\r\nHost: x\r\nAccept: a\r\naccept: b\r\nX-E:  v \t\r\n\r\n", true},
		{"pipelined get post get", get + "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + get, true},
		{"cl and te", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + get, false},
		{"te chunked", "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + get, false},
		{"te chunked twice", "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
		{"te xchunked", "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", false},
		{"te space", "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", false},
		{"te tab", "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n", false},
		{"duplicate cl", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", false},
		{"cl spaces", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3 3\r\n\r\nabc", false},
		{"cl zero", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" + get, false},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", false},
		{"bare lf", "GET / HTTP/1.1\nHost: x\n\n", false},
		{"bare lf in field", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\nTransfer-Encoding: chunked\r\n\r\n", false},
		{"bare cr", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", false},
		{"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", false},
		{"invalid name", "GET / HTTP/1.1\r\nHost: x\r\nX(A): b\r\n\r\n", false},
		{"nul", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", false},
		{"high byte", "GET / HTTP/1.1\r\nHost: x\r\nX-A: caf\xc3\xa9\r\n\r\n", false},
		{"absolute form", "GET http://y.example/a HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"missing host", "GET / HTTP/1.1\r\n\r\n", false},
		{"duplicate host", "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", false},
		{"bad host", "GET / HTTP/1.1\r\nHost: x/y\r\n\r\n", false},
		{"http/1.0", "GET / HTTP/1.0\r\nHost: x\r\n\r\n", false},
		{"http/1.0 keep-alive", "GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", false},
		{"lower method", "get / HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"space in target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"expect", "GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n", false},
		{"upgrade h2c", "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", false},
		{"trailer", "GET / HTTP/1.1\r\nHost: x\r\nTrailer: X-T\r\n\r\n", false},
		{"connection other", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close, te\r\nTE: trailers\r\n\r\n", false},
		{"6 KiB head", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 6<<10) + "\r\n\r\n", true},
		{"huge head", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 10<<10) + "\r\n\r\n", false},
		{"too large head", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n", false},
		{"pri", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", false},
		{"leading crlf", "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"bad version", "GET / HTTP/1.12\r\nHost: x\r\n\r\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s0, h0 := edgeSrv.H1Counts()
			got := rawExchange(t, edgeSrv.HTTPAddr(), nil, tc.req)
			s1, h1 := edgeSrv.H1Counts()
			want := rawExchange(t, stdSrv.HTTPAddr(), nil, tc.req)
			if got != want {
				t.Errorf("edge answered\n%s\nnet/http\n%s", got, want)
			}
			if want == "" && tc.name != "bare lf" {
				t.Errorf("no response at all from net/http: the case tests nothing")
			}
			first := s1 > s0 && !strings.HasPrefix(tc.name, "pipelined")
			if tc.served != first && !strings.HasPrefix(tc.name, "pipelined") {
				t.Errorf("edge served %d, handed off %d: want served %v", s1-s0, h1-h0, tc.served)
			}
			if !tc.served && s1 != s0 {
				t.Errorf("edge served %d requests of a head it must hand off", s1-s0)
			}
			if tc.name == "pipelined get post get" && (s1-s0 != 1 || h1-h0 != 1) {
				t.Errorf("pipelined: served %d, handed %d: want 1 and 1", s1-s0, h1-h0)
			}
		})
	}
}

// TestH1DifferentialTLS: over TLS both paths, served and handed off,
// give the handler the conn's TLS state, as net/http does.
func TestH1DifferentialTLS(t *testing.T) {
	ca, err := edgetls.LoadOrCreateDevCA(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	edgeSrv, stdSrv := h1Pair(t, echoHandler, ca.TLSConfig(nil))
	cl := &ctls.Config{RootCAs: ca.Pool(), ServerName: "localhost", NextProtos: []string{"http/1.1"}}
	for _, req := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
	} {
		got := rawExchange(t, edgeSrv.HTTPSAddr(), cl, req)
		want := rawExchange(t, stdSrv.HTTPSAddr(), cl, req)
		if got != want || !strings.Contains(got, "tls=true") {
			t.Errorf("edge answered\n%s\nnet/http\n%s", got, want)
		}
	}
	if served, handed := edgeSrv.H1Counts(); served != 1 || handed != 1 {
		t.Errorf("served %d, handed off %d: want 1 and 1", served, handed)
	}
}

// TestH1DifferentialHandler: through the node's own handler (a static
// route and an origin route with its cache), both servers give the same
// answers to plain, HEAD, conditional and ranged requests: 304 and 206
// come from http.ServeContent inside the handler on either server.
func TestH1DifferentialHandler(t *testing.T) {
	f := newHitFixture(t)
	h := f.handler(t)
	edgeSrv, stdSrv := h1Pair(t, h, nil)
	fields := []string{"Content-Type", "Content-Length", "Etag", "Last-Modified", "Cache-Control", "Accept-Ranges", "Content-Range", "Via", "X-Cache"}
	get := func(srv *edge.Server, host, method string, hdr map[string]string) (string, string) {
		req, _ := http.NewRequest(method, "http://"+srv.HTTPAddr()+"/obj.bin", nil)
		req.Host = host
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var b strings.Builder
		fmt.Fprintf(&b, "%d cl=%d te=%v body=%d\n", resp.StatusCode, resp.ContentLength, resp.TransferEncoding, len(body))
		for _, k := range fields {
			fmt.Fprintf(&b, "%s=%q\n", k, resp.Header.Values(k))
		}
		if resp.Header.Get("Date") == "" {
			b.WriteString("no Date\n")
		}
		return b.String(), resp.Header.Get("Etag")
	}
	get(stdSrv, "cdn.example", "GET", nil) // the miss that stores it
	for _, host := range []string{"static.example", "cdn.example"} {
		_, tag := get(stdSrv, host, "GET", nil)
		if tag == "" {
			tag = `"other"` // the test origin sends none: a 200 on both
		}
		for _, tc := range []struct {
			method string
			hdr    map[string]string
		}{
			{"GET", nil},
			{"HEAD", nil},
			{"GET", map[string]string{"If-None-Match": tag}},
			{"HEAD", map[string]string{"If-None-Match": tag}},
			{"GET", map[string]string{"Range": "bytes=10-19"}},
			{"GET", map[string]string{"Range": "bytes=9000-"}},
		} {
			s0, _ := edgeSrv.H1Counts()
			got, _ := get(edgeSrv, host, tc.method, tc.hdr)
			want, _ := get(stdSrv, host, tc.method, tc.hdr)
			if s1, _ := edgeSrv.H1Counts(); s1 != s0+1 {
				t.Errorf("%s %s %v: not served by the node's h1 server", host, tc.method, tc.hdr)
			}
			if got != want {
				t.Errorf("%s %s %v: edge\n%s\nnet/http\n%s", host, tc.method, tc.hdr, got, want)
			}
			if host == "static.example" && tc.hdr["If-None-Match"] != "" && !strings.HasPrefix(got, "304 ") {
				t.Errorf("%s %s %v: %s, want a 304", host, tc.method, tc.hdr, got)
			}
		}
	}
}

// TestH1PlainToTLSPort: plain HTTP sent to the TLS port is told so, as
// net/http tells it.
func TestH1PlainToTLSPort(t *testing.T) {
	ca, err := edgetls.LoadOrCreateDevCA(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	edgeSrv, stdSrv := h1Pair(t, echoHandler, ca.TLSConfig(nil))
	req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	got, want := rawExchange(t, edgeSrv.HTTPSAddr(), nil, req), rawExchange(t, stdSrv.HTTPSAddr(), nil, req)
	if got != want || !strings.HasPrefix(got, "400 ") {
		t.Fatalf("edge answered %q, net/http %q", got, want)
	}
}

// TestH1ServerName: a name that is neither h1 server is refused before
// anything binds.
func TestH1ServerName(t *testing.T) {
	if err := edge.NewServer(edge.ServerConfig{HTTPAddr: "127.0.0.1:0", H1: "fasthttp"}, echoHandler).Listen(); err == nil {
		t.Fatal("an unknown h1 server was accepted")
	}
}

// TestH1ShutdownInFlight: the node's Shutdown lets an HTTP/1.1 request
// in flight on its own server finish over TLS, and only then returns
// (edge/h1's TestShutdownInFlight checks the Connection: close).
func TestH1ShutdownInFlight(t *testing.T) {
	ca, err := edgetls.LoadOrCreateDevCA(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	srv := edge.NewServer(edge.ServerConfig{HTTPSAddr: "127.0.0.1:0", TLS: ca.TLSConfig(nil), Log: quietLog}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "finished")
	}))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &ctls.Config{RootCAs: ca.Pool()}}}
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := cl.Get("https://localhost:" + portOf(srv.HTTPSAddr()) + "/")
		if err != nil {
			got <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- result{string(b), err}
	}()
	<-started
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	case r := <-got:
		t.Fatalf("the request ended (%+v) before it was released", r)
	default:
	}
	close(release)
	if r := <-got; r.err != nil || r.body != "finished" {
		t.Fatalf("%+v, want the whole body", r)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if served, _ := srv.H1Counts(); served != 1 {
		t.Fatalf("served %d by the node's h1 server", served)
	}
}
