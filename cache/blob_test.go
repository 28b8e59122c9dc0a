package cache_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
)

func TestBlobRoundTrip(t *testing.T) {
	sizes := []struct {
		name string
		n    int
	}{
		{"empty", 0},
		{"one byte", 1},
		{"chunk-1", smallChunks - 1},
		{"chunk", smallChunks},
		{"chunk+1", smallChunks + 1},
		{"3.5 chunks", 7 * smallChunks / 2},
	}
	for i, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newCache(t, cache.Options{ChunkSize: smallChunks})
			data := randomBytes(uint64(100+i), tc.n)
			want := cache.Sum(data)
			if c.HasBlob(want) {
				t.Fatal("HasBlob before PutBlob")
			}
			before := time.Now().Add(-time.Second)
			d, n, err := c.PutBlob(bytes.NewReader(data), 0)
			if err != nil {
				t.Fatalf("PutBlob: %v", err)
			}
			if d != want || n != int64(tc.n) {
				t.Fatalf("PutBlob = %s, %d; want %s, %d", d, n, want, tc.n)
			}
			if !c.HasBlob(d) {
				t.Error("HasBlob after PutBlob = false")
			}
			info, err := c.StatBlob(d)
			if err != nil {
				t.Fatalf("StatBlob: %v", err)
			}
			if info.Digest != d || info.Size != int64(tc.n) || info.Created.Before(before) || info.Created.After(time.Now()) {
				t.Errorf("StatBlob = %+v", info)
			}
			got, err := c.ReadBlob(d)
			if err != nil {
				t.Fatalf("ReadBlob: %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("ReadBlob returned %d bytes that differ from the %d stored", len(got), len(data))
			}
			if len(got) > 0 { // the copy is private
				got[0] ^= 0xff
				again, err := c.ReadBlob(d)
				if err != nil || !bytes.Equal(again, data) {
					t.Fatalf("ReadBlob after mutating an earlier result: %v", err)
				}
			}
			r, err := c.OpenBlob(d)
			if err != nil {
				t.Fatalf("OpenBlob: %v", err)
			}
			if r.Size() != int64(tc.n) {
				t.Errorf("Size() = %d, want %d", r.Size(), tc.n)
			}
			streamed, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(streamed, data) {
				t.Fatalf("reading OpenBlob: %v (equal %v)", err, bytes.Equal(streamed, data))
			}
			s, err := c.Stats()
			if err != nil || s.Blobs != 1 || s.BlobBytes != int64(tc.n) {
				t.Errorf("Stats = %+v, %v", s, err)
			}
			if got := c.Counters().BlobsStored.Load(); got != 1 {
				t.Errorf("Counters().BlobsStored = %d, want 1", got)
			}
			if got := c.Counters().BlobBytesStored.Load(); got != int64(tc.n) {
				t.Errorf("Counters().BlobBytesStored = %d, want %d", got, tc.n)
			}
			mustVerifyClean(t, c)
		})
	}
}

func TestBlobMissing(t *testing.T) {
	c, _ := newCache(t, cache.Options{})
	d := cache.Sum([]byte("never stored"))
	if c.HasBlob(d) {
		t.Error("HasBlob of a missing blob")
	}
	if _, err := c.StatBlob(d); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("StatBlob: %v, want ErrNotFound", err)
	}
	if _, err := c.OpenBlob(d); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("OpenBlob: %v, want ErrNotFound", err)
	}
	if _, err := c.ReadBlob(d); !errors.Is(err, cache.ErrNotFound) || !strings.Contains(err.Error(), d.String()) {
		t.Errorf("ReadBlob: %v, want ErrNotFound naming %s", err, d)
	}
}

func TestBlobStoredOnce(t *testing.T) {
	c, path := newCache(t, cache.Options{ChunkSize: smallChunks})
	data := randomBytes(7, 7*smallChunks/2)
	d := mustPut(t, c, data)
	for i := range 3 {
		if got := mustPut(t, c, data); got != d {
			t.Fatalf("put %d: digest %s, want %s", i, got, d)
		}
	}
	n, err := c.PutBlobVerified(bytes.NewReader(data), d, 0)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("PutBlobVerified of stored content = %d, %v", n, err)
	}
	s, err := c.Stats()
	if err != nil || s.Blobs != 1 || s.BlobBytes != int64(len(data)) {
		t.Fatalf("Stats = %+v, %v; want one blob of %d bytes", s, err, len(data))
	}
	if got := c.Counters().BlobsStored.Load(); got != 1 {
		t.Errorf("Counters().BlobsStored = %d, want 1", got)
	}
	mustVerifyClean(t, c)
	closeCache(t, c)
	if got, want := rawChunkCount(t, path), 4; got != want {
		t.Errorf("chunks in file = %d, want %d (one copy of 3.5 chunks)", got, want)
	}
}

var errBoom = errors.New("boom: connection reset")

// failingReader yields n bytes of data and then fails.
type failingReader struct {
	data []byte
	n    int
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errBoom
	}
	k := copy(p[:min(len(p), r.n)], r.data)
	r.data, r.n = r.data[k:], r.n-k
	return k, nil
}

func TestPutBlobRefused(t *testing.T) {
	data := randomBytes(9, 3*smallChunks+100)
	wrong := cache.Sum([]byte("something else"))
	cases := []struct {
		name string
		put  func(c *cache.Cache) error
		want error
	}{
		{"wrong digest", func(c *cache.Cache) error {
			_, err := c.PutBlobVerified(bytes.NewReader(data), wrong, 0)
			return err
		}, cache.ErrDigestMismatch},
		{"wrong digest of empty content", func(c *cache.Cache) error {
			_, err := c.PutBlobVerified(bytes.NewReader(nil), wrong, 0)
			return err
		}, cache.ErrDigestMismatch},
		{"too large", func(c *cache.Cache) error {
			_, _, err := c.PutBlob(bytes.NewReader(data), int64(len(data)-1))
			return err
		}, cache.ErrTooLarge},
		{"too large by a chunk", func(c *cache.Cache) error {
			_, _, err := c.PutBlob(bytes.NewReader(data), smallChunks)
			return err
		}, cache.ErrTooLarge},
		{"too large though verified", func(c *cache.Cache) error {
			_, err := c.PutBlobVerified(bytes.NewReader(data), cache.Sum(data), 10)
			return err
		}, cache.ErrTooLarge},
		{"reader fails mid-chunk", func(c *cache.Cache) error {
			_, _, err := c.PutBlob(&failingReader{data: data, n: 2*smallChunks + 17}, 0)
			return err
		}, errBoom},
		{"reader fails at a chunk boundary", func(c *cache.Cache) error {
			_, _, err := c.PutBlob(&failingReader{data: data, n: 2 * smallChunks}, 0)
			return err
		}, errBoom},
		{"reader fails at once", func(c *cache.Cache) error {
			_, err := c.PutBlobVerified(&failingReader{data: data}, cache.Sum(data), 0)
			return err
		}, errBoom},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, path := newCache(t, cache.Options{ChunkSize: smallChunks})
			keep := randomBytes(10, smallChunks+3)
			kd := mustPut(t, c, keep)

			err := tc.put(c)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, d := range []cache.Digest{cache.Sum(data), wrong, cache.Sum(nil)} {
				if c.HasBlob(d) {
					t.Errorf("HasBlob(%s) after a refused put", d)
				}
			}
			s, err := c.Stats()
			if err != nil || s.Blobs != 1 || s.BlobBytes != int64(len(keep)) {
				t.Errorf("Stats = %+v, %v; want only the earlier blob", s, err)
			}
			if got := c.Counters().BlobsStored.Load(); got != 1 {
				t.Errorf("Counters().BlobsStored = %d, want 1", got)
			}
			mustVerifyClean(t, c)
			if got, err := c.ReadBlob(kd); err != nil || !bytes.Equal(got, keep) {
				t.Errorf("earlier blob damaged: %v", err)
			}
			closeCache(t, c)
			if got := rawChunkCount(t, path); got != 2 {
				t.Errorf("chunks in file = %d, want 2 (only the earlier blob's)", got)
			}
		})
	}
}

func TestPutBlobMaxSizeIsInclusive(t *testing.T) {
	c, _ := newCache(t, cache.Options{ChunkSize: smallChunks})
	for _, n := range []int{smallChunks, 2*smallChunks + 1} {
		data := randomBytes(uint64(n), n)
		if _, got, err := c.PutBlob(bytes.NewReader(data), int64(n)); err != nil || got != int64(n) {
			t.Errorf("PutBlob of exactly maxSize=%d: %d, %v", n, got, err)
		}
		if got, err := c.PutBlobVerified(bytes.NewReader(data), cache.Sum(data), int64(n)); err != nil || got != int64(n) {
			t.Errorf("PutBlobVerified of exactly maxSize=%d: %d, %v", n, got, err)
		}
	}
}

// oneByteReader hands out data a byte at a time, like a slow network.
type oneByteReader struct{ data []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0], r.data = r.data[0], r.data[1:]
	return 1, nil
}

func TestPutBlobShortReads(t *testing.T) {
	c, _ := newCache(t, cache.Options{ChunkSize: 512})
	data := randomBytes(11, 3*512+7)
	n, err := c.PutBlobVerified(&oneByteReader{data: data}, cache.Sum(data), 0)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("PutBlobVerified from a one-byte reader = %d, %v", n, err)
	}
	got, err := c.ReadBlob(cache.Sum(data))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadBlob: %v", err)
	}
}

func TestBlobReaderSeek(t *testing.T) {
	c, _ := newCache(t, cache.Options{ChunkSize: smallChunks})
	data := randomBytes(12, 5*smallChunks+123)
	size := int64(len(data))
	r, err := c.OpenBlob(mustPut(t, c, data))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pos := int64(0)
	for i := range 600 {
		target := rng.Int64N(size + 10) // sometimes past the end
		if i%10 == 0 {                  // and often right at a chunk boundary
			target = int64(rng.IntN(6))*smallChunks + int64(rng.IntN(3)) - 1
			target = max(target, 0)
		}
		whence := rng.IntN(3)
		var off int64
		switch whence {
		case io.SeekStart:
			off = target
		case io.SeekCurrent:
			off = target - pos
		case io.SeekEnd:
			off = target - size
		}
		got, err := r.Seek(off, whence)
		if err != nil || got != target {
			t.Fatalf("Seek(%d, %d) from %d = %d, %v; want %d", off, whence, pos, got, err, target)
		}
		n := rng.IntN(5*smallChunks/2 + 1)
		buf := make([]byte, n)
		k, err := io.ReadFull(r, buf)
		want := data[min(target, size):min(target+int64(n), size)]
		if !bytes.Equal(buf[:k], want) {
			t.Fatalf("read %d at %d: got %d bytes that differ from the original", n, target, k)
		}
		switch {
		case k == n && err != nil:
			t.Fatalf("read %d at %d: %v", n, target, err)
		case k < n && k == 0 && n > 0 && err != io.EOF:
			t.Fatalf("read %d at %d past the end: %v, want io.EOF", n, target, err)
		case k < n && k > 0 && err != io.ErrUnexpectedEOF:
			t.Fatalf("read %d at %d across the end: %v, want io.ErrUnexpectedEOF", n, target, err)
		}
		pos = target + int64(k)
		if cur, err := r.Seek(0, io.SeekCurrent); err != nil || cur != pos {
			t.Fatalf("Seek(0, SeekCurrent) = %d, %v; want %d", cur, err, pos)
		}
	}
}

func TestBlobReaderSingleReadsStayInBounds(t *testing.T) {
	c, _ := newCache(t, cache.Options{ChunkSize: smallChunks})
	data := randomBytes(13, 2*smallChunks+9)
	r, err := c.OpenBlob(mustPut(t, c, data))
	if err != nil {
		t.Fatal(err)
	}
	// One Read never returns more than asked and never skips bytes, even
	// when the buffer spans several chunks.
	var out []byte
	p := make([]byte, 3*smallChunks)
	for {
		n, err := r.Read(p)
		if n > len(p) {
			t.Fatalf("Read returned %d > %d", n, len(p))
		}
		out = append(out, p[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("Read returned 0, nil")
		}
	}
	if !bytes.Equal(out, data) {
		t.Fatal("bytes read differ from the original")
	}
	if n, err := r.Read(p); n != 0 || err != io.EOF {
		t.Errorf("Read at the end = %d, %v; want 0, EOF", n, err)
	}
}

func TestBlobReaderSeekErrors(t *testing.T) {
	c, _ := newCache(t, cache.Options{ChunkSize: smallChunks})
	r, err := c.OpenBlob(mustPut(t, c, randomBytes(14, 100)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Seek(50, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		off    int64
		whence int
	}{
		{-1, io.SeekStart},
		{-51, io.SeekCurrent},
		{-101, io.SeekEnd},
		{0, 3},
		{0, -1},
	}
	for _, tc := range cases {
		if got, err := r.Seek(tc.off, tc.whence); err == nil {
			t.Errorf("Seek(%d, %d) = %d, nil; want an error", tc.off, tc.whence, got)
		}
	}
	if cur, _ := r.Seek(0, io.SeekCurrent); cur != 50 {
		t.Errorf("a refused Seek moved the offset to %d", cur)
	}
	if got, err := r.Seek(-100, io.SeekEnd); err != nil || got != 0 {
		t.Errorf("Seek(-size, SeekEnd) = %d, %v; want 0", got, err)
	}
}

func TestBlobServeContentRange(t *testing.T) {
	c, _ := newCache(t, cache.Options{ChunkSize: smallChunks})
	data := randomBytes(15, 7*smallChunks/2)
	size := len(data)
	d := mustPut(t, c, data)
	cases := []struct {
		rng        string
		code       int
		start, end int // the body is data[start:end]
	}{
		{"", http.StatusOK, 0, size},
		{"bytes=0-0", http.StatusPartialContent, 0, 1},
		{"bytes=4000-8200", http.StatusPartialContent, 4000, 8201},
		{"bytes=4096-8191", http.StatusPartialContent, 4096, 8192},
		{"bytes=-100", http.StatusPartialContent, size - 100, size},
		{"bytes=12000-", http.StatusPartialContent, 12000, size},
		{fmt.Sprintf("bytes=%d-", size), http.StatusRequestedRangeNotSatisfiable, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.rng, func(t *testing.T) {
			r, err := c.OpenBlob(d)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/blob", nil)
			if tc.rng != "" {
				req.Header.Set("Range", tc.rng)
			}
			rec := httptest.NewRecorder()
			http.ServeContent(rec, req, "blob.bin", time.Time{}, r)
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d", rec.Code, tc.code)
			}
			if tc.code == http.StatusRequestedRangeNotSatisfiable {
				return
			}
			if body := rec.Body.Bytes(); !bytes.Equal(body, data[tc.start:tc.end]) {
				t.Fatalf("body: %d bytes that differ from data[%d:%d]", len(body), tc.start, tc.end)
			}
			if got, want := rec.Header().Get("Content-Length"), strconv.Itoa(tc.end-tc.start); got != want {
				t.Errorf("Content-Length %s, want %s", got, want)
			}
			if tc.code == http.StatusPartialContent {
				want := fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end-1, size)
				if got := rec.Header().Get("Content-Range"); got != want {
					t.Errorf("Content-Range %q, want %q", got, want)
				}
			}
		})
	}
}
