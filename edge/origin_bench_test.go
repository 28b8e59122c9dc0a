package edge_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/httpcache"
)

// Benchmarks of a 4 KiB object: a cache hit, an origin fetch (no cache),
// the node's own static file, and a native Go handler writing the same
// bytes — the baselines a hit is read against, measured in the same run.
// "Handler" runs through the handler without a network; "H1" over
// loopback HTTP/1.1 with parallel clients.
//
//	go test -run XXX -bench 'Origin' -benchtime 2s ./edge/

var object4K = bytes.Repeat([]byte("0123456789abcdef"), 256)

func benchOriginHandler(b *testing.B, cached bool) http.Handler {
	b.Helper()
	o := startOrigin(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(object4K)
	})
	cfg := edge.HandlerConfig{Router: edge.NewRouter(), Log: quietLog}
	if cached {
		cfg.HTTPCache, _ = httpcache.New(httpcache.Config{Log: quietLog})
	}
	if err := cfg.Router.Set([]*app.App{originApp(b, o.URL, "", nil)}); err != nil {
		b.Fatal(err)
	}
	h := edge.NewHandler(cfg)
	b.Cleanup(h.CloseIdle)
	return h
}

func benchStaticHandler(b *testing.B) http.Handler {
	b.Helper()
	a, err := app.LoadApp(fstest.MapFS{
		"edge.toml":      {Data: []byte("name = \"s\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\n")},
		"public/obj.bin": {Data: object4K},
	}, "s", app.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	r := edge.NewRouter()
	if err := r.Set([]*app.App{a}); err != nil {
		b.Fatal(err)
	}
	return edge.NewHandler(edge.HandlerConfig{Router: r, Log: quietLog})
}

var native4K = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(object4K)
})

func runHandler4K(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	b.SetBytes(int64(len(object4K)))
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/obj.bin", nil))
		if w.Code != 200 || w.Body.Len() != len(object4K) {
			b.Fatalf("GET = %d, %d bytes", w.Code, w.Body.Len())
		}
	}
}

func BenchmarkOriginHandlerNative(b *testing.B)   { runHandler4K(b, native4K) }
func BenchmarkOriginHandlerStatic(b *testing.B)   { runHandler4K(b, benchStaticHandler(b)) }
func BenchmarkOriginHandlerCacheHit(b *testing.B) { runHandler4K(b, benchOriginHandler(b, true)) }
func BenchmarkOriginHandlerFetch(b *testing.B)    { runHandler4K(b, benchOriginHandler(b, false)) }

// runH1 serves h on loopback and fetches the object from parallel clients.
func runH1(b *testing.B, h http.Handler) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	url := srv.URL + "/obj.bin"
	b.ReportAllocs()
	b.SetBytes(int64(len(object4K)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := cl.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || n != int64(len(object4K)) {
				b.Error(fmt.Errorf("GET = %d, %d bytes", resp.StatusCode, n))
				return
			}
		}
	})
}

func BenchmarkOriginH1Native(b *testing.B)   { runH1(b, native4K) }
func BenchmarkOriginH1Static(b *testing.B)   { runH1(b, benchStaticHandler(b)) }
func BenchmarkOriginH1CacheHit(b *testing.B) { runH1(b, benchOriginHandler(b, true)) }
func BenchmarkOriginH1Fetch(b *testing.B)    { runH1(b, benchOriginHandler(b, false)) }
