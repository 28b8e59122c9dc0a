package ops_test

import (
	"context"
	ctls "crypto/tls"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/quic-go/quic-go/http3"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/ops"
	edgetls "github.com/edgecdn/edge/tls"
)

const token = "0123456789abcdef0123456789abcdef"

// metricsNode is a real edge server (h1, h2, h3 on loopback) serving two
// apps, its handler observed by a Metrics, and an admin API serving it.
type metricsNode struct {
	srv   *edge.Server
	admin *ops.Admin
	ready *ops.Readiness
	tls   *ctls.Config
}

// twoApps: "one" answers 127.0.0.1 with a WAGI route, a trapping route
// and static files under /files/; "two" answers two.test with static files.
func twoApps(t *testing.T) []*app.App {
	t.Helper()
	engine, err := modules.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(engine.Close)
	good, _ := wasmtime.Wat2Wasm(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Content-Type: text/plain\n\nok")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 28))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`)
	trap, _ := wasmtime.Wat2Wasm(`(module (memory (export "memory") 1) (func (export "_start") unreachable))`)
	one, err := app.LoadApp(fstest.MapFS{
		"edge.toml": {Data: []byte(`name = "one"
hosts = ["127.0.0.1"]
[[routes]]
path = "/good"
module = "good.wasm"
[[routes]]
path = "/trap"
module = "trap.wasm"
[[routes]]
path = "/files/..."
static = "public"
`)},
		"good.wasm":       {Data: good},
		"trap.wasm":       {Data: trap},
		"public/a.txt":    {Data: []byte("0123456789")},
		"public/big.html": {Data: []byte("<p>one</p>")},
	}, "mem/one", app.LoadOptions{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	two, err := app.LoadApp(fstest.MapFS{
		"edge.toml":         {Data: []byte("name = \"two\"\nhosts = [\"two.test\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\n")},
		"public/index.html": {Data: []byte("<h1>two</h1>")},
	}, "mem/two", app.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return []*app.App{one, two}
}

func startMetricsNode(t *testing.T, apps []*app.App) *metricsNode {
	t.Helper()
	quiet := slogDiscard()
	ca, err := edgetls.LoadOrCreateDevCA(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	router := edge.NewRouter()
	if err := router.Set(apps); err != nil {
		t.Fatal(err)
	}
	m := ops.NewMetrics()
	h := edge.NewHandler(edge.HandlerConfig{Router: router, Log: quiet, Observer: m})
	n := &metricsNode{ready: ops.NewReadiness(), tls: &ctls.Config{RootCAs: ca.Pool()}}
	n.srv = edge.NewServer(edge.ServerConfig{HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", TLS: ca.TLSConfig(nil), Log: quiet}, h)
	if err := n.srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.srv.Shutdown(context.Background()) })
	c, err := cache.Open(filepath.Join(t.TempDir(), "edge.db"), cache.Options{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	n.admin, err = ops.NewAdmin(ops.AdminConfig{Addr: "127.0.0.1:0", Token: token, Cache: c, Handler: h, Metrics: m, Ready: n.ready, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.admin.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.admin.Shutdown(context.Background()) })
	return n
}

// clients returns one client per protocol label, each forced to it.
func (n *metricsNode) clients(t *testing.T) map[string]*http.Client {
	h1 := &http.Transport{TLSClientConfig: n.tls.Clone()}
	h1.TLSNextProto = map[string]func(string, *ctls.Conn) http.RoundTripper{}
	h2 := &http.Transport{TLSClientConfig: n.tls.Clone(), ForceAttemptHTTP2: true}
	h3 := &http3.Transport{TLSClientConfig: n.tls.Clone()}
	t.Cleanup(func() { h1.CloseIdleConnections(); h2.CloseIdleConnections(); _ = h3.Close() })
	return map[string]*http.Client{"h1": {Transport: h1}, "h2": {Transport: h2}, "h3": {Transport: h3}}
}

// TestMetricsByAppRouteProto sends known traffic over h1, h2 and h3 to
// two apps and parses /metrics with Prometheus' own text parser: every
// request is counted under its app, configured route, status class and
// protocol; the latency histograms count every request; raw paths never
// become labels.
func TestMetricsByAppRouteProto(t *testing.T) {
	n := startMetricsNode(t, twoApps(t))
	base := "https://" + n.srv.HTTPSAddr()
	type hit struct{ host, path string }
	traffic := []hit{
		{"", "/good"}, {"", "/good"}, {"", "/trap"}, {"", "/files/a.txt"},
		{"", "/files/no-such-" + fmt.Sprint(time.Now().UnixNano())}, {"", "/nowhere"},
		{"two.test", "/"}, {"nobody.test", "/x"},
	}
	for proto, c := range n.clients(t) {
		for _, h := range traffic {
			req, _ := http.NewRequest("GET", base+h.path, nil)
			if h.host != "" {
				req.Host = h.host
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s %s%s: %v", proto, h.host, h.path, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if want := map[string]int{"h1": 1, "h2": 2, "h3": 3}[proto]; resp.ProtoMajor != want {
				t.Fatalf("%s client spoke %s", proto, resp.Proto)
			}
		}
	}
	fams := scrape(t, n.admin.Addr())
	for _, proto := range []string{"h1", "h2", "h3"} {
		for _, want := range []struct {
			app, route, class string
			n                 float64
		}{
			{"one", "/good", "2xx", 2}, {"one", "/trap", "5xx", 1}, {"one", "/files/...", "2xx", 1},
			{"one", "/files/...", "4xx", 1}, {"one", "(none)", "4xx", 1}, {"two", "/...", "2xx", 1},
			{"(none)", "(none)", "4xx", 1},
		} {
			got := value(fams, "edge_requests_total", map[string]string{"app": want.app, "route": want.route, "class": want.class, "proto": proto})
			if got != want.n {
				t.Errorf("edge_requests_total{app=%q,route=%q,class=%q,proto=%q} = %v, want %v", want.app, want.route, want.class, proto, got, want.n)
			}
		}
	}
	for _, mf := range fams["edge_requests_total"].GetMetric() {
		for _, l := range mf.GetLabel() {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), "no-such") {
				t.Errorf("a raw request path became a label: %v", l)
			}
		}
	}
	var latency uint64
	for _, m := range fams["edge_request_duration_seconds"].GetMetric() {
		latency += m.GetHistogram().GetSampleCount()
	}
	if want := uint64(3 * len(traffic)); latency != want {
		t.Errorf("latency histograms counted %d requests, want %d", latency, want)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"edge_guest_failures_total", map[string]string{"app": "one", "kind": "trap"}, 3},
		{"edge_static_bytes_total", map[string]string{"app": "one"}, 3 * (10 + float64(len("404 page not found\n")))},
		{"edge_static_bytes_total", map[string]string{"app": "two"}, 3 * float64(len("<h1>two</h1>"))},
		{"edge_guests_in_flight", nil, 0},
		{"edge_queue_depth", nil, 0},
		{"edge_overloaded_total", nil, 0},
	} {
		if got := value(fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, name := range []string{"edge_guest_run_seconds", "edge_guest_instantiate_seconds"} {
		if h := fams[name]; h == nil || histCount(h, "executor", "wagi") != 9 || histSum(h, "executor", "wagi") <= 0 {
			t.Errorf("%s{executor=wagi} does not time the 9 runs: %v", name, h)
		}
	}
	for _, name := range []string{"go_goroutines", "process_open_fds", "edge_cache_compiles_total", "edge_queue_wait_seconds"} {
		if fams[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// scrape reads /metrics with the token and parses it.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	status, body := call(t, "http://"+addr+"/metrics", token)
	if status != 200 {
		t.Fatalf("/metrics = %d %s", status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// value is the counter or gauge of the series with exactly these labels
// among its labels; -1 when absent.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	for _, m := range fams[name].GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Untyped != nil:
			return m.GetUntyped().GetValue()
		}
	}
	return -1
}

func histCount(mf *dto.MetricFamily, label, v string) uint64 {
	for _, m := range mf.GetMetric() {
		if hasLabels(m, map[string]string{label: v}) {
			return m.GetHistogram().GetSampleCount()
		}
	}
	return 0
}

func histSum(mf *dto.MetricFamily, label, v string) float64 {
	for _, m := range mf.GetMetric() {
		if hasLabels(m, map[string]string{label: v}) {
			return m.GetHistogram().GetSampleSum()
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestHealthReadyAndTokens: /healthz and /readyz need no token and
// /readyz follows the node's readiness; /metrics and /debug/pprof/ need
// the token.
func TestHealthReadyAndTokens(t *testing.T) {
	n := startMetricsNode(t, nil)
	base := "http://" + n.admin.Addr()
	if status, body := call(t, base+"/healthz", ""); status != 200 || body != "ok\n" {
		t.Errorf("/healthz without a token = %d %q", status, body)
	}
	n.ready.Require("apps", "apps not loaded yet")
	if status, body := call(t, base+"/readyz", ""); status != 503 || !strings.Contains(body, "apps not loaded") {
		t.Errorf("/readyz before apps load = %d %q, want 503 naming the apps", status, body)
	}
	n.ready.Done("apps")
	if status, body := call(t, base+"/readyz", ""); status != 200 {
		t.Errorf("/readyz once loaded = %d %q", status, body)
	}
	n.ready.Drain()
	if status, body := call(t, base+"/readyz", ""); status != 503 || !strings.Contains(body, "draining") {
		t.Errorf("/readyz while draining = %d %q, want 503 draining", status, body)
	}
	for _, p := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline"} {
		if status, _ := call(t, base+p, ""); status != http.StatusUnauthorized {
			t.Errorf("%s without a token = %d, want 401", p, status)
		}
	}
	if status, body := call(t, base+"/debug/pprof/", token); status != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/ with the token = %d", status)
	}
}

func call(t *testing.T, url, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
