package modules_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
)

// The demo app's edge ABI guests, built from modules/examples with the
// SDKs in modules/sdk, and the limits their routes in demo/edge.toml set.
var edgeGuests = []edgeGuest{
	{"hello-edge.wasm", " (from C, edge ABI)\n", modules.Limits{}, false},
	{"hello-edge-go.wasm", " (from Go, edge ABI)\n", modules.Limits{Memory: 64 << 20, Timeout: 5 * time.Second}, true},
}

type edgeGuest struct {
	file, suffix string
	lim          modules.Limits
	slow         bool // compiling takes seconds
}

// wantGreeting is what both guests are documented to answer for a query:
// the first "name" value as url.ParseQuery and Get find it, capped at 256
// bytes, or "world".
func wantGreeting(query, suffix string) string {
	q, _ := url.ParseQuery(query)
	name := q.Get("name")
	if len(name) > 256 {
		name = name[:256]
	}
	if name == "" {
		name = "world"
	}
	return "Hello, " + name + "!" + suffix
}

// TestRunEdgeSDKGuests runs the committed edge ABI demo guests through
// RunEdge and checks they answer like url.ParseQuery reads the query,
// including where the WAGI C guest differs from Go (a ';', an escaped NUL,
// an encoded name, a name without '=').
func TestRunEdgeSDKGuests(t *testing.T) {
	e := newEngine(t)
	t.Run("allocations", func(t *testing.T) { testRunEdgeAllocs(t, e) })
	long := strings.Repeat("n", 300)
	queries := []struct{ name, query, want string }{
		{"no query", "", "Hello, world!"},
		{"name", "name=edge", "Hello, edge!"},
		{"space escaped", "name=x%20y", "Hello, x y!"},
		{"plus", "name=x+y", "Hello, x y!"},
		{"decoded", "x=1&name=J%C3%BCrgen+M", "Hello, Jürgen M!"},
		{"empty name", "name=", "Hello, world!"},
		{"first name wins", "name=&name=bob", "Hello, world!"},
		{"bare name wins", "name&name=bob", "Hello, world!"},
		{"bad escape skipped", "name=%zz&name=ok", "Hello, ok!"},
		{"truncated escape", "name=a%2", "Hello, world!"},
		{"other keys", "nam=x&names=y", "Hello, world!"},
		{"encoded key", "n%61me=key", "Hello, key!"},
		{"semicolon pair skipped", "name=a;b&name=c", "Hello, c!"},
		{"escaped NUL", "name=a%00b", "Hello, a\x00b!"},
		{"empty pairs", "&&name=z&", "Hello, z!"},
		{"html", "name=%3Cb%3E", "Hello, <b>!"},
		{"capped at 256 bytes", "name=" + long, "Hello, " + long[:256] + "!"},
		{"capped after decoding", "name=" + strings.Repeat("%41", 300), "Hello, " + strings.Repeat("A", 256) + "!"},
	}
	for _, g := range edgeGuests {
		t.Run(g.file, func(t *testing.T) {
			if g.slow && testing.Short() {
				t.Skip("compiling the Go guest takes seconds")
			}
			m := compileDemo(t, e, g.file)
			for _, tt := range queries {
				t.Run(tt.name, func(t *testing.T) {
					if got := wantGreeting(tt.query, g.suffix); got != tt.want+g.suffix {
						t.Fatalf("test table disagrees with url.ParseQuery: %q", got)
					}
					r := httptest.NewRequest(http.MethodGet, "/api/hello-edge?"+tt.query, nil)
					checkHello(t, e, m, g.lim, modules.EdgeRequest(r, nil), tt.want+g.suffix)
				})
			}

			// Requests larger than the guests' first buffers (8 KiB in C,
			// 2 KiB in Go) take a second request call into bigger memory.
			t.Run("large body", func(t *testing.T) {
				body := bytes.Repeat([]byte("b"), 300<<10)
				r := httptest.NewRequest(http.MethodPost, "/api/hello-edge?name=big", bytes.NewReader(body))
				checkHello(t, e, m, g.lim, modules.EdgeRequest(r, body), "Hello, big!"+g.suffix)
			})
			t.Run("large head", func(t *testing.T) {
				r := httptest.NewRequest(http.MethodGet, "/api/hello-edge?name=head", nil)
				r.Header.Set("X-Pad", strings.Repeat("p", 20<<10))
				r.Header.Set("Cookie", "a=b")
				checkHello(t, e, m, g.lim, modules.EdgeRequest(r, nil), "Hello, head!"+g.suffix)
			})
			t.Run("memory limit", func(t *testing.T) {
				// A 2 MiB request does not fit a 1 MiB memory: the C guest
				// cannot grow its memory to read it and answers 500.
				if g.slow {
					t.Skip("the Go runtime needs more than 1 MiB to start")
				}
				body := bytes.Repeat([]byte("b"), 2<<20)
				r := httptest.NewRequest(http.MethodPost, "/api/hello-edge?name=big", bytes.NewReader(body))
				resp, out, err := e.RunEdge(context.Background(), m, modules.EdgeRequest(r, body), modules.Limits{Memory: 1 << 20})
				if err != nil {
					t.Fatalf("RunEdge: %v (log %q)", err, out.Stderr)
				}
				if resp.Status != 500 || !strings.Contains(string(out.Stderr), "cannot read the request") {
					t.Errorf("status %d body %q log %q, want 500 and a log line", resp.Status, resp.Body, out.Stderr)
				}
			})
		})
	}
}

// TestEdgeGoSDK builds testdata/edgesdk, a guest with one behaviour of the
// Go SDK per path, and checks what each earns.
func TestEdgeGoSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and compiles a Go guest")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the guest")
	}
	file := filepath.Join(t.TempDir(), "edgesdk.wasm")
	cmd := exec.Command(gobin, "build", "-buildmode=c-shared", "-o", file, "./testdata/edgesdk")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t)
	m, err := e.Compile("edgesdk.wasm", b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	lim := modules.Limits{Memory: 64 << 20, Timeout: 5 * time.Second}

	run := func(t *testing.T, r *http.Request, body []byte) (*modules.Response, string) {
		t.Helper()
		resp, out, err := e.RunEdge(context.Background(), m, modules.EdgeRequest(r, body), lim)
		if err != nil {
			t.Fatalf("RunEdge: %v (log %q)", err, out.Stderr)
		}
		return resp, string(out.Stderr)
	}
	tests := []struct {
		path, body string
		status     int
		header     http.Header
		log        string
	}{
		{"/stream", "abc", 201, http.Header{"Content-Type": {"text/plain"}, "X-A": {"1", "2"}}, ""},
		{"/early-write", "edgeabi: already responded, or not yet", 200, nil, ""},
		{"/bad-status", "edgeabi: status out of range", 200, nil, ""},
		{"/forbidden", "", 500, http.Header{}, "edgeabi: respond 200: edgeabi: malformed or forbidden header\n"},
		{"/injection", "", 500, http.Header{}, "edgeabi: respond 200: edgeabi: malformed or forbidden header\n"},
		{"/default", "ok", 200, http.Header{}, ""},
		{"/panic", "", 500, http.Header{}, "edgeabi: handler panicked: boom\n"},
		{"/log", "", 204, nil, "hello log\n"},
		{"/nowhere", "not found\n", 404, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, log := run(t, httptest.NewRequest(http.MethodGet, tt.path, nil), nil)
			if resp.Status != tt.status || string(resp.Body) != tt.body || log != tt.log {
				t.Errorf("got %d %q log %q, want %d %q log %q", resp.Status, resp.Body, log, tt.status, tt.body, tt.log)
			}
			want := tt.header
			if want == nil {
				want = http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
			}
			if !reflect.DeepEqual(resp.Header, want) {
				t.Errorf("header %v, want %v", resp.Header, want)
			}
		})
	}
	t.Run("/echo", func(t *testing.T) {
		body := bytes.Repeat([]byte("B"), 5000) // more than the SDK's first buffer
		r := httptest.NewRequest(http.MethodPut, "http://app.test/echo?q=a%2Bb+c", bytes.NewReader(body))
		r.Header.Set("User-Agent", "ua: 1")
		r.Header.Add("X-Multi", " one")
		r.Header.Add("X-Multi", "two")
		resp, _ := run(t, r, body)
		want := "PUT /echo?q=a%2Bb+c\nhost=app.test\nua=ua: 1\nx=\"one\",\"two\"\nq=a+b c\nbody=" + string(body)
		if resp.Status != 200 || string(resp.Body) != want {
			t.Errorf("got %d %q, want %q", resp.Status, resp.Body, want)
		}
	})
}

func checkHello(t *testing.T, e *modules.Engine, m *modules.Module, lim modules.Limits, req []byte, want string) {
	t.Helper()
	resp, out, err := e.RunEdge(context.Background(), m, req, lim)
	if err != nil {
		t.Fatalf("RunEdge: %v (log %q)", err, out.Stderr)
	}
	if ct := resp.Header.Get("Content-Type"); resp.Status != 200 || ct != "text/plain; charset=utf-8" {
		t.Errorf("status %d, Content-Type %q", resp.Status, ct)
	}
	if string(resp.Body) != want {
		t.Errorf("body %q, want %q", resp.Body, want)
	}
	if len(resp.Header) != 1 {
		t.Errorf("header %v, want only Content-Type", resp.Header)
	}
	if len(out.Stderr) != 0 {
		t.Errorf("log %q, want none", out.Stderr)
	}
}

// BenchmarkRunEdgeHelloC runs the C edge ABI guest as the demo routes it:
// a fresh instance, _initialize, one request call and one respond call.
// Compare BenchmarkRunWAGIHelloC for the same greeting over WAGI.
func BenchmarkRunEdgeHelloC(b *testing.B) {
	benchEdge(b, 0)
}

// BenchmarkRunEdgeHelloGo runs the Go edge ABI guest, where the Go
// runtime's start-up in _initialize dominates.
func BenchmarkRunEdgeHelloGo(b *testing.B) {
	benchEdge(b, 1)
}

func benchEdge(b *testing.B, guest int) {
	g := edgeGuests[guest]
	e := newEngine(b)
	benchEdgeModule(b, e, compileDemo(b, e, g.file), g)
}

func benchEdgeModule(b *testing.B, e *modules.Engine, m *modules.Module, g edgeGuest) {
	r := httptest.NewRequest(http.MethodGet, "/api/hello-edge?name=bench", nil)
	r.Header.Set("User-Agent", "bench")
	req := modules.EdgeRequest(r, nil)
	want := "Hello, bench!" + g.suffix
	b.ReportAllocs()
	faults, cpu := minorFaults(), cpuTime()
	for b.Loop() {
		resp, _, err := e.RunEdge(context.Background(), m, req, g.lim)
		if err != nil {
			b.Fatal(err)
		}
		if string(resp.Body) != want {
			b.Fatalf("body %q, want %q", resp.Body, want)
		}
	}
	b.ReportMetric(float64(minorFaults()-faults)/float64(b.N), "faults/op")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e3, "cpu-µs/op")
}
