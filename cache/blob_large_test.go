package cache_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/edgecdn/edge/cache"
)

const (
	largeBlobSize = 200 << 20
	heapLimit     = 32 << 20 // far below the blob's size
	sampleEvery   = 8 << 20
)

// heapWatch samples HeapInuse every sampleEvery bytes that pass through it
// and keeps the peak.
type heapWatch struct {
	r      io.Reader
	n      int64
	next   int64
	peak   uint64
	sample func() uint64
}

func (w *heapWatch) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.n += int64(n)
	if w.n >= w.next {
		w.next += sampleEvery
		w.peak = max(w.peak, w.sample())
	}
	return n, err
}

func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// window remembers the source bytes at [off, off+n) as they stream by, so
// seeks can be checked later without holding the whole blob.
type window struct {
	off  int64
	data []byte
}

type windowCapture struct {
	pos  int64
	wins []*window
}

func (c *windowCapture) Write(p []byte) (int, error) {
	start, end := c.pos, c.pos+int64(len(p))
	for _, w := range c.wins {
		lo, hi := max(start, w.off), min(end, w.off+int64(cap(w.data)))
		if lo < hi {
			w.data = append(w.data, p[lo-start:hi-start]...)
		}
	}
	c.pos = end
	return len(p), nil
}

// TestLargeBlobBoundedMemory streams a 200 MiB blob in and out with the
// default 1 MiB chunks and checks that memory stays at a few chunks.
func TestLargeBlobBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 200 MiB through a bbolt file")
	}
	c, _ := newCache(t, cache.Options{})
	const chunk = cache.DefaultChunkSize
	capture := &windowCapture{wins: []*window{
		{off: 0, data: make([]byte, 0, 1000)},
		{off: chunk - 100<<10, data: make([]byte, 0, 300<<10)},         // across chunks 0|1
		{off: 100<<20 + 12345, data: make([]byte, 0, 2*chunk+1)},       // spans three chunks
		{off: largeBlobSize - 200<<10, data: make([]byte, 0, 200<<10)}, // to the end
		{off: 150*chunk - 1, data: make([]byte, 0, 2)},                 // two bytes over a boundary
	}}
	var seed [32]byte
	copy(seed[:], "large blob test seed")
	src := io.LimitReader(rand.NewChaCha8(seed), largeBlobSize)
	h := sha256.New()
	in := &heapWatch{r: io.TeeReader(src, io.MultiWriter(h, capture)), sample: heapInuse}

	runtime.GC()
	d, n, err := c.PutBlob(in, 0)
	if err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
	var want cache.Digest
	h.Sum(want[:0])
	if d != want || n != largeBlobSize {
		t.Fatalf("PutBlob = %s, %d; want %s, %d", d, n, want, largeBlobSize)
	}
	runtime.GC()
	afterWrite := heapInuse()
	t.Logf("writing: peak HeapInuse %d MiB, after GC %d MiB", in.peak>>20, afterWrite>>20)
	if in.peak > heapLimit || afterWrite > heapLimit {
		t.Errorf("HeapInuse while writing peaked at %d MiB, %d MiB after; want < %d MiB", in.peak>>20, afterWrite>>20, heapLimit>>20)
	}

	// Read it all back, hashing as we go.
	r, err := c.OpenBlob(d)
	if err != nil {
		t.Fatal(err)
	}
	allocBefore := totalAlloc()
	out := &heapWatch{r: r, sample: heapInuse}
	h.Reset()
	if _, err := io.CopyBuffer(h, out, make([]byte, 32<<10)); err != nil {
		t.Fatalf("reading back: %v", err)
	}
	perMiB := (totalAlloc() - allocBefore) / (largeBlobSize >> 20)
	var got cache.Digest
	h.Sum(got[:0])
	if got != d {
		t.Fatalf("read back %s, want %s", got, d)
	}
	t.Logf("reading: peak HeapInuse %d MiB, %d bytes allocated per MiB read", out.peak>>20, perMiB)
	if out.peak > heapLimit {
		t.Errorf("HeapInuse while reading peaked at %d MiB; want < %d MiB", out.peak>>20, heapLimit>>20)
	}
	if perMiB > 256<<10 {
		t.Errorf("reading allocated %d bytes per MiB; want a bounded, chunk-reusing reader", perMiB)
	}

	// Range-like reads: seek, then read a window and compare.
	for _, w := range capture.wins {
		if int64(len(w.data)) != int64(cap(w.data)) {
			t.Fatalf("window at %d captured %d of %d bytes", w.off, len(w.data), cap(w.data))
		}
		if _, err := r.Seek(w.off-largeBlobSize, io.SeekEnd); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(w.data))
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatalf("read %d bytes at %d: %v", len(buf), w.off, err)
		}
		if !bytes.Equal(buf, w.data) {
			t.Errorf("bytes at [%d, %d) differ from the source", w.off, w.off+int64(len(buf)))
		}
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 1000)
	if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, capture.wins[0].data) {
		t.Errorf("head after seeking back to the start: %v", err)
	}
}
