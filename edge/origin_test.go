package edge_test

import (
	"bufio"
	"context"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/httpcache"
)

// TestOriginForwardsCleanly checks what the origin receives and what the
// client gets back: hop-by-hop fields gone both ways, Via and the
// forwarding fields set by the node (the client's own are not trusted),
// origin_host sent as Host, the request body streamed through.
func TestOriginForwardsCleanly(t *testing.T) {
	got := make(chan *http.Request, 1)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		got <- r
		w.Header().Set("Connection", "X-Secret-Hop")
		w.Header().Set("X-Secret-Hop", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		_, _ = w.Write(append([]byte("echo:"), body...))
	})
	n := startNode(t, edge.HandlerConfig{Log: quietLog}, originApp(t, o.URL+"/base", `origin_host = "www.example.com"`, nil))
	req, _ := http.NewRequest("POST", "http://"+n.srv.HTTPAddr()+"/a/b?q=1", strings.NewReader("payload"))
	req.Host = "shop.example"
	for k, v := range map[string]string{
		"Connection": "X-Client-Hop", "X-Client-Hop": "1", "Proxy-Authorization": "Basic eA==",
		"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil.example", "X-Original-URL": "/admin",
		"Forwarded": "for=6.6.6.6;host=evil.example", "X-HTTP-Method-Override": "DELETE",
	} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "echo:payload" {
		t.Fatalf("POST = %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Secret-Hop") != "" || resp.Header.Get("Keep-Alive") != "" {
		t.Errorf("hop-by-hop fields of the origin reached the client: %v", resp.Header)
	}
	if !strings.Contains(resp.Header.Get("Via"), "edge") {
		t.Errorf("response Via = %q", resp.Header.Get("Via"))
	}
	r := <-got
	if r.Host != "www.example.com" || r.URL.Path != "/base/a/b" || r.URL.RawQuery != "q=1" {
		t.Errorf("origin got Host %q path %q query %q", r.Host, r.URL.Path, r.URL.RawQuery)
	}
	for _, f := range []string{"X-Client-Hop", "Proxy-Authorization", "X-Original-Url", "X-Http-Method-Override"} {
		if v := r.Header.Get(f); v != "" {
			t.Errorf("origin got %s: %q", f, v)
		}
	}
	want := map[string]string{
		"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "shop.example", "X-Forwarded-Proto": "http",
		"Forwarded": `for="127.0.0.1";host="shop.example";proto=http`, "Via": "1.1 edge",
	}
	for f, v := range want {
		if got := strings.Join(r.Header.Values(f), ", "); got != v {
			t.Errorf("origin got %s = %q, want %q", f, got, v)
		}
	}
}

// TestOriginErrorsMapTo502And504: a refused connection is a 502, an origin
// that does not answer within origin_timeout a 504; both name the request
// id, and the node carries on.
func TestOriginErrorsMapTo502And504(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	release := make(chan struct{})
	slow := startOrigin(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	defer close(release)
	for _, tc := range []struct {
		name, url, extra string
		status           int
	}{
		{"refused", dead, "", 502},
		{"slow", slow.URL, `origin_timeout = "100ms"`, 504},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := startNode(t, edge.HandlerConfig{Log: quietLog}, originApp(t, tc.url, tc.extra, nil))
			resp, body := get(t, http.DefaultClient, "http://"+n.srv.HTTPAddr()+"/x")
			id := resp.Header.Get("X-Request-Id")
			if resp.StatusCode != tc.status || id == "" || !strings.Contains(body, id) {
				t.Errorf("GET = %d %q (id %q), want %d naming the request id", resp.StatusCode, body, id, tc.status)
			}
		})
	}
}

// TestOriginHTTP2WithOriginCA: an origin on TLS that offers h2 is spoken
// to over h2, trusted through the route's origin_ca file.
func TestOriginHTTP2WithOriginCA(t *testing.T) {
	protos := make(chan string, 4)
	o := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos <- r.Proto
		_, _ = io.WriteString(w, "secure")
	}))
	o.EnableHTTP2 = true
	o.StartTLS()
	defer o.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: o.Certificate().Raw})
	files := fstest.MapFS{"certs/origin.pem": {Data: caPEM}}
	n := startNode(t, edge.HandlerConfig{Log: quietLog}, originApp(t, o.URL, `origin_ca = "certs/origin.pem"`, files))
	for proto, cl := range n.clients(t) {
		resp, body := get(t, cl.c, cl.base+"/")
		if resp.StatusCode != 200 || body != "secure" {
			t.Fatalf("%s: GET = %d %q", proto, resp.StatusCode, body)
		}
		if p := <-protos; p != "HTTP/2.0" {
			t.Errorf("%s: origin saw %s, want HTTP/2.0", proto, p)
		}
	}
	// Without the CA the origin's certificate is refused: 502.
	n2 := startNode(t, edge.HandlerConfig{Log: quietLog}, originApp(t, o.URL, "", nil))
	if resp, _ := get(t, http.DefaultClient, "http://"+n2.srv.HTTPAddr()+"/"); resp.StatusCode != 502 {
		t.Errorf("untrusted origin certificate: %d, want 502", resp.StatusCode)
	}
}

// TestOriginStreamsResponse: a response without Content-Length reaches the
// client piece by piece: the origin sends its second piece only once the
// client has read the first, which a buffering proxy would never deliver.
func TestOriginStreamsResponse(t *testing.T) {
	gotFirst := make(chan struct{})
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-gotFirst:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "second\n")
	})
	for _, cached := range []bool{false, true} {
		cfg := edge.HandlerConfig{Log: quietLog}
		if cached {
			cfg.HTTPCache, _ = httpcache.New(httpcache.Config{Log: quietLog})
		}
		n := startNode(t, cfg, originApp(t, o.URL, "", nil))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+n.srv.HTTPAddr()+"/events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "first\n" {
			t.Fatalf("cache %v: first piece %q, %v (not streamed)", cached, line, err)
		}
		gotFirst <- struct{}{}
		resp.Body.Close()
		cancel()
	}
}
