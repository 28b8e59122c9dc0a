package edge

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCoalesceRanges(t *testing.T) {
	const size = 100
	many := strings.TrimSuffix(strings.Repeat("0-0,", MaxRanges+1), ",")
	tests := []struct {
		hdr, want string
		ok        bool
	}{
		{"bytes=0-4", "bytes=0-4", true},
		{"bytes=-3", "bytes=97-99", true},
		{"bytes=90-", "bytes=90-99", true},
		{"bytes=90-1000", "bytes=90-99", true},
		{"bytes=0-9,5-19", "bytes=0-19", true},                 // overlap
		{"bytes=0-9,10-19", "bytes=0-19", true},                // adjacent
		{"bytes=50-59,0-9", "bytes=0-9,50-59", true},           // order
		{"bytes=0-,0-,0-,0-", "bytes=0-99", true},              // repeats
		{"bytes=0-1,200-300", "bytes=0-1", true},               // unsatisfiable part dropped
		{"bytes=" + many, "", true},                            // too many: whole file
		{"bytes=200-300", "", false},                           // all unsatisfiable: 416
		{"bytes=5-1", "", false},                               // bad syntax
		{"bytes=x-1", "", false},                               // bad syntax
		{"items=0-1", "", false},                               // unknown unit
		{"bytes=0-1,,4-5", "bytes=0-1,4-5", true},              // empty element
		{"bytes=" + strings.Repeat(",", 40) + "0-1", "", true}, // list too long
	}
	for _, tt := range tests {
		got, ok := coalesceRanges(tt.hdr, size)
		if got != tt.want || ok != tt.ok {
			t.Errorf("coalesceRanges(%.40q) = %q, %v; want %q, %v", tt.hdr, got, ok, tt.want, tt.ok)
		}
	}
}

// chunkCounter models cache.BlobReader: it keeps one chunk and counts
// each load of another.
type chunkCounter struct {
	size, off, chunk, cur int64
	loads                 int
}

func (c *chunkCounter) Read(p []byte) (int, error) {
	if c.off >= c.size {
		return 0, io.EOF
	}
	if idx := c.off / c.chunk; idx != c.cur {
		c.cur = idx
		c.loads++
	}
	n := min(int64(len(p)), c.chunk-c.off%c.chunk, c.size-c.off)
	c.off += n
	return int(n), nil
}

func (c *chunkCounter) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += c.off
	case io.SeekEnd:
		off += c.size
	}
	c.off = off
	return off, nil
}

// TestRangesReadEachChunkOnce serves range requests through ServeContent
// after boundRanges and counts chunk loads: never more than the file's
// chunks, however the ranges are ordered (the attack alternated between
// two chunks 5,092 times).
func TestRangesReadEachChunkOnce(t *testing.T) {
	const size, chunk = 3 << 20, 1 << 20
	alternating := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			off := int64(i/2) + int64(i%2)*2*chunk
			parts[i] = fmt.Sprintf("%d-%d", off, off)
		}
		return "bytes=" + strings.Join(parts, ",")
	}
	for _, hdr := range []string{alternating(5092), alternating(16), "bytes=2097152-2097160,0-10,1048576-1048580,5-20"} {
		c := &chunkCounter{size: size, chunk: chunk, cur: -1}
		r := httptest.NewRequest("GET", "/f", nil)
		r.Header.Set("Range", hdr)
		w := httptest.NewRecorder()
		http.ServeContent(w, boundRanges(r, size), "f", time.Time{}, c)
		if w.Code != http.StatusOK && w.Code != http.StatusPartialContent {
			t.Fatalf("%.40q: status %d", hdr, w.Code)
		}
		if c.loads > size/chunk {
			t.Errorf("%.40q: %d chunk loads for a file of %d chunks", hdr, c.loads, size/chunk)
		}
	}
}

// FuzzCoalesceRanges feeds Range headers from the wire to coalesceRanges:
// it never panics, and what it returns is at most MaxRanges ranges,
// ascending, disjoint and not touching, inside the file, and a header
// net/http's ServeContent accepts.
func FuzzCoalesceRanges(f *testing.F) {
	for _, s := range []string{"bytes=0-4", "bytes=-3", "bytes=5-", "bytes=0-1,1-2,9-9", "bytes=,,0-0", "bytes=99999999999999999999-", "bytes=-0", alternatingSeed()} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, hdr string, size int64) {
		if size < 0 {
			size = -size
		}
		out, ok := coalesceRanges(hdr, size)
		if !ok || out == "" {
			return
		}
		spec, found := strings.CutPrefix(out, "bytes=")
		if !found {
			t.Fatalf("%q -> %q: no bytes= prefix", hdr, out)
		}
		parts := strings.Split(spec, ",")
		if len(parts) > MaxRanges {
			t.Fatalf("%q -> %d ranges", hdr, len(parts))
		}
		prevEnd := int64(-2)
		for _, p := range parts {
			var a, b int64
			if _, err := fmt.Sscanf(p, "%d-%d", &a, &b); err != nil {
				t.Fatalf("%q -> %q: %v", hdr, out, err)
			}
			if a > b || a < 0 || b >= size || a <= prevEnd+1 {
				t.Fatalf("%q (size %d) -> %q: range %d-%d out of order, overlapping or outside", hdr, size, out, a, b)
			}
			prevEnd = b
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Range", out)
		w := httptest.NewRecorder()
		http.ServeContent(w, r, "f", time.Time{}, strings.NewReader(strings.Repeat("x", int(min(size, 1<<16)))))
		if size <= 1<<16 && w.Code != http.StatusPartialContent && w.Code != http.StatusOK {
			t.Fatalf("%q -> %q: ServeContent answered %d", hdr, out, w.Code)
		}
	})
}

func alternatingSeed() string {
	parts := make([]string, 40)
	for i := range parts {
		parts[i] = fmt.Sprintf("%d-%d", i%2*50+i/2, i%2*50+i/2)
	}
	return "bytes=" + strings.Join(parts, ",")
}
