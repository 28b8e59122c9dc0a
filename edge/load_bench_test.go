package edge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/modules/examples"
)

// BenchmarkHTTPLoad drives a real node over HTTP/1.1 keep-alive on loopback
// with bombardier (64 connections) and compares each guest with a native Go
// handler that writes the same bytes, served by the same server in the
// same run. It reports req/s for each, the ratio to native, and p50/p99
// latency. The load generator shares the machine's cores with the node.
//
//	go install github.com/codesenberg/bombardier@v1.2.6
//	go test -run '^$' -bench HTTPLoad -benchtime 1x ./edge/
//
// EDGE_LOAD_DURATION sets each run's length (default 5s).
// EDGE_LOAD_CPUPROFILE=DIR writes each run's CPU profile (the load only,
// not the app's load and compile) to DIR/NAME.prof.
func BenchmarkHTTPLoad(b *testing.B) {
	bomb := bombardierPath()
	if bomb == "" {
		b.Skip("bombardier not installed (go install github.com/codesenberg/bombardier@v1.2.6)")
	}
	duration := 5 * time.Second
	if d, err := time.ParseDuration(os.Getenv("EDGE_LOAD_DURATION")); err == nil {
		duration = d
	}
	router := edge.NewRouter()
	if err := router.Set([]*app.App{loadDemoWithPlainGo(b, newTestEngine(b))}); err != nil {
		b.Fatal(err)
	}
	// The access log is formatted as in production, then discarded.
	inflight, _ := strconv.Atoi(os.Getenv("EDGE_LOAD_INFLIGHT")) // 0: the node's default
	h := edge.NewHandler(edge.HandlerConfig{Router: router, MaxInFlight: inflight, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	mux := http.NewServeMux()
	mux.HandleFunc("/native", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Hello, %s! (from C)\n", r.URL.Query().Get("name"))
	})
	mux.Handle("/", h)
	srv := edge.NewServer(edge.ServerConfig{HTTPAddr: "127.0.0.1:0", Log: quietLog}, mux)
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	base := "http://" + srv.HTTPAddr()

	targets := []struct{ name, path string }{
		{"native", "/native?name=bench"},
		{"static-css", "/style.css"},
		{"wagi-c", "/api/hello?name=bench"},
		{"wagi-wat", "/api/hello-wat"},
		{"edge-abi-c", "/api/hello-edge?name=bench"},
		{"wagi-go", "/api/hello-go?name=bench"},
		{"edge-abi-go", "/api/hello-edge-go?name=bench"},
		{"edge-abi-go-no-preinit", "/api/hello-edge-go-plain?name=bench"},
		{"js", "/api/hello-js?name=bench"},
	}
	var native float64
	for _, tg := range targets {
		b.Run(tg.name, func(b *testing.B) {
			stop := startProfile(b, tg.name)
			r := bombard(b, bomb, base+tg.path, duration)
			stop()
			if tg.name == "native" {
				native = r.rps
			}
			b.ReportMetric(r.rps, "req/s")
			b.ReportMetric(r.p50/1000, "p50-ms")
			b.ReportMetric(r.p99/1000, "p99-ms")
			if native > 0 {
				b.ReportMetric(r.rps/native, "x-native")
			}
			if r.errors > 0 {
				b.Errorf("%d requests failed", r.errors)
			}
		})
	}
}

// loadDemoWithPlainGo is the demo app plus its Go edge ABI guest on a
// route with preinit = false, to measure what pre-initialisation gives in
// the same run, and the JavaScript hello (modules/examples/hello-js).
func loadDemoWithPlainGo(b *testing.B, e *modules.Engine) *app.App {
	b.Helper()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(examples.Demo(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(examples.Demo(), p)
		fsys[p] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	fsys[app.ConfigFile].Data = append(fsys[app.ConfigFile].Data, []byte(`
[[routes]]
path     = "/api/hello-edge-go-plain"
module   = "hello-edge-go.wasm"
executor = "edge"
memory   = "64MiB"
timeout  = "5s"
preinit  = false

[[routes]]
path     = "/api/hello-js"
script   = "hello-js.js"
timeout  = "5s"
`)...)
	js, err := os.ReadFile("../modules/examples/hello-js/handler.js")
	if err != nil {
		b.Fatal(err)
	}
	fsys["hello-js.js"] = &fstest.MapFile{Data: js}
	a, err := app.LoadApp(fsys, "demo", app.LoadOptions{Engine: e})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

type loadResult struct {
	rps, p50, p99 float64 // latency in microseconds
	errors        int64
}

// bombard runs bombardier for d against url and parses its JSON report.
func bombard(b *testing.B, bin, url string, d time.Duration) loadResult {
	b.Helper()
	out, err := exec.Command(bin, "-c", "64", "-d", d.String(), "-l", "-p", "r", "-o", "j", url).Output()
	if err != nil {
		b.Fatalf("bombardier: %v", err)
	}
	var rep struct {
		Result struct {
			TimeTakenSeconds float64 `json:"timeTakenSeconds"`
			Req2xx           int64   `json:"req2xx"`
			Req4xx, Req5xx   int64
			Others           int64 `json:"others"`
			Latency          struct {
				Percentiles map[string]float64 `json:"percentiles"`
			} `json:"latency"`
		} `json:"result"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		b.Fatalf("bombardier output: %v\n%s", err, out)
	}
	r := rep.Result
	return loadResult{
		rps:    float64(r.Req2xx) / r.TimeTakenSeconds,
		p50:    r.Latency.Percentiles["50"],
		p99:    r.Latency.Percentiles["99"],
		errors: r.Req4xx + r.Req5xx + r.Others,
	}
}

func bombardierPath() string {
	if p, err := exec.LookPath("bombardier"); err == nil {
		return p
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "bombardier")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// startProfile writes a CPU profile of one load phase to
// EDGE_LOAD_CPUPROFILE/NAME.prof when that variable names a directory.
func startProfile(b *testing.B, name string) (stop func()) {
	dir := os.Getenv("EDGE_LOAD_CPUPROFILE")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, name+".prof"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
