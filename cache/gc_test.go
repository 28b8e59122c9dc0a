package cache_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	bolt "go.etcd.io/bbolt"
)

func chunksOf(n int) int { return (n + smallChunks - 1) / smallChunks }

func TestGCRemovesUnreferenced(t *testing.T) {
	c, path := newCache(t, cache.Options{ChunkSize: smallChunks})
	site := randomBytes(50, 2*smallChunks+1)  // referenced by "site"
	api := randomBytes(51, smallChunks)       // referenced by "api"
	old := randomBytes(52, 3*smallChunks+500) // referenced by nobody
	shared := randomBytes(53, 10)             // referenced by both
	ds, da, do, dsh := mustPut(t, c, site), mustPut(t, c, api), mustPut(t, c, old), mustPut(t, c, shared)

	keepArts := []cache.ArtifactKey{{Module: da, Fingerprint: engineA}, {Module: da, Fingerprint: engineB}}
	dropArts := []cache.ArtifactKey{
		{Module: do, Fingerprint: engineA},
		{Module: do, Fingerprint: engineB},
		{Module: cache.Sum([]byte("module nobody has")), Fingerprint: engineA},
	}
	for _, k := range append(keepArts, dropArts...) {
		mustPutArtifact(t, c, k, []byte("code of "+k.Module.String()))
	}
	apps := []cache.AppRecord{
		{Name: "site", Source: "deploy", Blobs: []string{ds.String(), dsh.String()}},
		{Name: "api", Source: "gossip", Blobs: []string{da.String(), dsh.String(), "not-a-digest"}},
	}
	if err := c.SetApps(apps); err != nil {
		t.Fatal(err)
	}

	rep, err := c.GC()
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	want := cache.GCReport{Blobs: 1, BlobBytes: int64(len(old)), Artifacts: len(dropArts)}
	if rep != want {
		t.Errorf("GC report %+v, want %+v", rep, want)
	}
	for d, data := range map[cache.Digest][]byte{ds: site, da: api, dsh: shared} {
		if got, err := c.ReadBlob(d); err != nil || !bytes.Equal(got, data) {
			t.Errorf("referenced blob %s after GC: %v", d, err)
		}
	}
	if c.HasBlob(do) {
		t.Error("unreferenced blob survived GC")
	}
	mustVerifyClean(t, c) // before any GetArtifact: its hit is written in the background
	for _, k := range keepArts {
		if _, err := getArtifact(c, k); err != nil {
			t.Errorf("artifact of a referenced module after GC: %v", err)
		}
	}
	for _, k := range dropArts {
		if _, err := getArtifact(c, k); !errors.Is(err, cache.ErrNotFound) {
			t.Errorf("artifact of an unreferenced module after GC: %v", err)
		}
	}

	if rep, err := c.GC(); err != nil || rep != (cache.GCReport{}) {
		t.Errorf("second GC = %+v, %v; want nothing removed", rep, err)
	}
	got, err := c.Apps()
	if err != nil || len(got) != 2 {
		t.Fatalf("Apps = %+v, %v", got, err)
	}
	for _, a := range got {
		if a.Updated.IsZero() || (a.Name != "site" && a.Name != "api") {
			t.Errorf("app record %+v", a)
		}
	}
	closeCache(t, c)
	// The removed blob's chunks went with it, not left for a later sweep.
	if got, want := rawChunkCount(t, path), chunksOf(len(site))+chunksOf(len(api))+chunksOf(len(shared)); got != want {
		t.Errorf("chunks in file after GC = %d, want %d", got, want)
	}
}

func TestGCWithNoAppsRemovesEverything(t *testing.T) {
	c, path := newCache(t, cache.Options{ChunkSize: smallChunks})
	a := mustPut(t, c, randomBytes(54, 2*smallChunks))
	b := mustPut(t, c, nil)
	mustPutArtifact(t, c, cache.ArtifactKey{Module: a, Fingerprint: engineA}, []byte("x"))
	if err := c.SetApps([]cache.AppRecord{{Name: "gone", Blobs: []string{a.String()}}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetApps(nil); err != nil { // replaces, not merges
		t.Fatal(err)
	}
	rep, err := c.GC()
	if err != nil {
		t.Fatal(err)
	}
	if want := (cache.GCReport{Blobs: 2, BlobBytes: 2 * smallChunks, Artifacts: 1}); rep != want {
		t.Errorf("GC report %+v, want %+v", rep, want)
	}
	if c.HasBlob(a) || c.HasBlob(b) {
		t.Error("blobs survived GC with no apps")
	}
	s, err := c.Stats()
	if err != nil || s.Blobs != 0 || s.Artifacts != 0 || s.Apps != 0 {
		t.Errorf("Stats = %+v, %v", s, err)
	}
	closeCache(t, c)
	if got := rawChunkCount(t, path); got != 0 {
		t.Errorf("%d chunks left in the file", got)
	}
}

// countingHandler counts log records whose message is msg and remembers
// the "chunks" attribute.
type countingHandler struct {
	mu     sync.Mutex
	msg    string
	chunks int64
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != h.msg {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "chunks" {
			h.mu.Lock()
			h.chunks += a.Value.Int64()
			h.mu.Unlock()
		}
		return true
	})
	return nil
}

// plantOrphans writes chunks no blob refers to, as a crash mid-upload
// leaves them, plus a key too short to be a chunk key.
func plantOrphans(t testing.TB, path string) (planted int) {
	t.Helper()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("chunks"))
		for _, id := range [][]byte{bytes.Repeat([]byte{0xab}, 16), bytes.Repeat([]byte{0x01}, 16)} {
			for i := range uint32(3) {
				if err := b.Put(binary.BigEndian.AppendUint32(bytes.Clone(id), i), []byte("stale")); err != nil {
					return err
				}
				planted++
			}
		}
		planted++
		return b.Put([]byte("short"), []byte("junk"))
	})
	return planted
}

func TestOrphanChunksRemovedOnOpen(t *testing.T) {
	c, path := newCache(t, cache.Options{ChunkSize: smallChunks})
	data := randomBytes(55, 2*smallChunks+3)
	d := mustPut(t, c, data)
	if err := c.SetApps([]cache.AppRecord{{Name: "site", Blobs: []string{d.String()}}}); err != nil {
		t.Fatal(err)
	}
	closeCache(t, c)
	planted := plantOrphans(t, path)

	// A read-only open changes nothing, but Verify sees them.
	ro := openCache(t, path, cache.Options{ReadOnly: true})
	rep, err := ro.Verify(nil)
	if err != nil || rep.OrphanChunks != planted || !rep.Clean() {
		t.Fatalf("Verify on a read-only open = %+v, %v; want %d orphan chunks and otherwise clean", rep, err, planted)
	}
	closeCache(t, ro)

	h := &countingHandler{msg: "removed chunks of interrupted uploads"}
	c = openCache(t, path, cache.Options{Log: slog.New(h)})
	if h.chunks != int64(planted) {
		t.Errorf("Open logged %d removed chunks, want %d", h.chunks, planted)
	}
	mustVerifyClean(t, c)
	if got, err := c.ReadBlob(d); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("live blob after orphan removal: %v", err)
	}
	if rep, err := c.GC(); err != nil || rep != (cache.GCReport{}) {
		t.Errorf("GC after Open cleaned up = %+v, %v; want nothing to do", rep, err)
	}
	closeCache(t, c)
	if got := rawChunkCount(t, path); got != chunksOf(len(data)) {
		t.Errorf("chunks in file = %d, want %d", got, chunksOf(len(data)))
	}
}

// gatedReader yields the first n bytes, then closes reached and waits for
// release before yielding the rest: an upload stalled on a slow peer.
type gatedReader struct {
	data    []byte
	n       int
	gated   bool // touched only by the reading goroutine
	reached chan struct{}
	release chan struct{}
}

func (r *gatedReader) Read(p []byte) (int, error) {
	if r.n == 0 && !r.gated {
		r.gated = true
		close(r.reached)
		<-r.release
	}
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	lim := len(p)
	if !r.gated {
		lim = min(lim, r.n)
	}
	k := copy(p[:lim], r.data)
	r.data = r.data[k:]
	if !r.gated {
		r.n -= k
	}
	return k, nil
}

// An upload in progress has chunks no blob record names yet; GC must leave
// them alone.
func TestGCSparesUploadInProgress(t *testing.T) {
	c, _ := newCache(t, cache.Options{ChunkSize: smallChunks})
	data := randomBytes(56, 4*smallChunks+1)
	reached, release := make(chan struct{}), make(chan struct{})
	r := &gatedReader{data: data, n: 2*smallChunks + 100, reached: reached, release: release}
	type result struct {
		d   cache.Digest
		err error
	}
	done := make(chan result, 1)
	go func() {
		d, _, err := c.PutBlob(r, 0)
		done <- result{d, err}
	}()
	<-reached // two chunks are stored, the third is half read

	rep, err := c.GC()
	if err != nil || rep.OrphanChunks != 0 {
		t.Fatalf("GC during an upload = %+v, %v; want no orphan chunks removed", rep, err)
	}
	vr, err := c.Verify(nil)
	if err != nil || vr.OrphanChunks != 2 {
		t.Errorf("Verify during the upload = %+v, %v; want its 2 chunks counted as not yet committed", vr, err)
	}
	close(release)
	res := <-done
	if res.err != nil || res.d != cache.Sum(data) {
		t.Fatalf("PutBlob after GC ran mid-upload: %s, %v", res.d, res.err)
	}
	if got, err := c.ReadBlob(res.d); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadBlob: %v", err)
	}
	mustVerifyClean(t, c)
}

func TestHoldBlocksGC(t *testing.T) {
	c, _ := newCache(t, cache.Options{ChunkSize: smallChunks})
	release := c.Hold()
	release2 := c.Hold() // holds do not exclude each other
	data := randomBytes(57, smallChunks+1)
	d := mustPut(t, c, data) // imported under the hold, not yet referenced

	type result struct {
		rep cache.GCReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := c.GC()
		done <- result{rep, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("GC completed while held: %+v, %v", r.rep, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := c.SetApps([]cache.AppRecord{{Name: "site", Blobs: []string{d.String()}}}); err != nil {
		t.Fatal(err)
	}
	release()
	select {
	case r := <-done:
		t.Fatalf("GC completed while one hold remained: %+v, %v", r.rep, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	release2()
	select {
	case r := <-done:
		if r.err != nil || r.rep.Blobs != 0 {
			t.Fatalf("GC after release = %+v, %v; want the imported blob kept", r.rep, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("GC did not run after the holds were released")
	}
	if got, err := c.ReadBlob(d); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("blob imported under hold: %v", err)
	}
}
