package edge_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
)

// alternatingRanges is the attack from issue 10: n single-byte ranges
// that alternate between the first and the third MiB of a file.
func alternatingRanges(n int) string {
	parts := make([]string, n)
	for i := range parts {
		off := i/2 + (i%2)*(2<<20)
		parts[i] = fmt.Sprintf("%d-%d", off, off)
	}
	return "bytes=" + strings.Join(parts, ",")
}

// TestStaticRangeLimits: more than edge.MaxRanges ranges get the whole
// file with 200; overlapping and adjacent ranges come back merged.
func TestStaticRangeLimits(t *testing.T) {
	s := startSite(t)
	data := s.files["/data.txt"] // 20 bytes
	many := "bytes=" + strings.TrimSuffix(strings.Repeat("0-0,", edge.MaxRanges+1), ",")
	r := s.do(t, http.MethodGet, "/data.txt", "Range", many)
	if r.status != http.StatusOK || string(r.body) != string(data) {
		t.Errorf("%d ranges: %d %q, want 200 and the whole file", edge.MaxRanges+1, r.status, r.body)
	}
	r = s.do(t, http.MethodGet, "/data.txt", "Range", "bytes=0-4,2-9,10-11")
	if r.status != http.StatusPartialContent || r.header.Get("Content-Range") != "bytes 0-11/20" || string(r.body) != string(data[:12]) {
		t.Errorf("overlapping ranges: %d %q %q, want one part bytes 0-11/20", r.status, r.header.Get("Content-Range"), r.body)
	}
	r = s.do(t, http.MethodGet, "/data.txt", "Range", "bytes=15-16,0-1")
	if r.status != http.StatusPartialContent || !strings.HasPrefix(r.header.Get("Content-Type"), "multipart/byteranges") {
		t.Fatalf("two ranges: %d %q", r.status, r.header.Get("Content-Type"))
	}
	if i, j := strings.Index(string(r.body), "bytes 0-1/20"), strings.Index(string(r.body), "bytes 15-16/20"); i < 0 || j < i {
		t.Errorf("two ranges: parts not in file order: %q", r.body)
	}
}

// cachedFileHandler serves a 3 MiB random file from a real cache, stored
// in 1 MiB chunks, as a deployed app's file is.
func cachedFileHandler(tb testing.TB) http.Handler {
	tb.Helper()
	dir := writeApp(tb, "name = \"f\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\n", nil)
	data := make([]byte, 3<<20)
	_, _ = rand.NewChaCha8([32]byte{7}).Read(data)
	if err := os.MkdirAll(filepath.Join(dir, "public"), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "public", "f.bin"), data, 0o644); err != nil {
		tb.Fatal(err)
	}
	c := openCache(tb, tb.TempDir())
	ap, err := app.LoadAppDir(dir, app.LoadOptions{Cache: c})
	if err != nil {
		tb.Fatal(err)
	}
	router := edge.NewRouter()
	if err := router.Set([]*app.App{ap}); err != nil {
		tb.Fatal(err)
	}
	return edge.NewHandler(edge.HandlerConfig{Router: router, Log: quietLog})
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkRangeAttack compares the 5,092-range request of issue 10 with a
// full download of the same 3 MiB cached file, in the same run. Before
// boundRanges it cost ~100× the full download; now it is the download.
func BenchmarkRangeAttack(b *testing.B) {
	h := cachedFileHandler(b)
	for _, bc := range []struct{ name, rng string }{
		{"full", ""},
		{"ranges=16", alternatingRanges(16)},
		{"ranges=5092", alternatingRanges(5092)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/f.bin", nil)
			if bc.rng != "" {
				req.Header.Set("Range", bc.rng)
			}
			for b.Loop() {
				h.ServeHTTP(&discardWriter{h: http.Header{}}, req)
			}
		})
	}
}

var _ io.Writer = (*discardWriter)(nil)
