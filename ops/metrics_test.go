package ops_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/ops"
)

const token = "0123456789abcdef0123456789abcdef"

// TestMetricsAndHealth drives a handler with one good, one trapping and
// one unrouted request, then reads /metrics through the admin listener:
// the counters moved by exactly what happened. /healthz needs no token;
// /metrics does.
func TestMetricsAndHealth(t *testing.T) {
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
	ap, err := app.LoadApp(fstest.MapFS{
		"edge.toml": {Data: []byte("name = \"m\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/good\"\nmodule = \"good.wasm\"\n[[routes]]\npath = \"/trap\"\nmodule = \"trap.wasm\"\n")},
		"good.wasm": {Data: good},
		"trap.wasm": {Data: trap},
	}, "m", app.LoadOptions{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	router := edge.NewRouter()
	if err := router.Set([]*app.App{ap}); err != nil {
		t.Fatal(err)
	}
	quiet := slogDiscard()
	h := edge.NewHandler(edge.HandlerConfig{Router: router, Log: quiet})
	for _, p := range []string{"/good", "/trap", "/nowhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	c, err := cache.Open(filepath.Join(t.TempDir(), "edge.db"), cache.Options{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	admin, err := ops.NewAdmin(ops.AdminConfig{Addr: "127.0.0.1:0", Token: token, Cache: c, Handler: h, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Shutdown(t.Context()) })
	base := "http://" + admin.Addr()

	if status, body := call(t, base+"/healthz", ""); status != 200 || body != "ok\n" {
		t.Errorf("/healthz without a token = %d %q", status, body)
	}
	if status, _ := call(t, base+"/metrics", ""); status != http.StatusUnauthorized {
		t.Errorf("/metrics without a token = %d, want 401", status)
	}
	status, body := call(t, base+"/metrics", token)
	if status != 200 {
		t.Fatalf("/metrics = %d", status)
	}
	for _, want := range []string{
		`edge_responses_total{class="2xx"} 1`,
		`edge_responses_total{class="4xx"} 1`,
		`edge_responses_total{class="5xx"} 1`,
		"edge_guest_runs_total 2",
		`edge_guest_failures_total{kind="trap"} 1`,
		`edge_guest_failures_total{kind="deadline"} 0`,
		"edge_guests_in_flight 0",
		"# TYPE edge_cache_compiles_total counter",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
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
