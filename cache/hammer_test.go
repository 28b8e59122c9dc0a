package cache_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/edgecdn/edge/cache"
)

// artifactFor is the artifact bytes for a key: every writer of a key writes
// the same bytes, as every node compiling one module with one engine does.
func artifactFor(k cache.ArtifactKey) []byte {
	return bytes.Repeat(append(k.Module[:8:8], k.Fingerprint[:8]...), 1+int(k.Module[0])%40)
}

// TestHammer runs blob and artifact traffic from many goroutines at once,
// some of it storing identical content, then checks the file is whole.
func TestHammer(t *testing.T) {
	c, path := newCache(t, cache.Options{ChunkSize: smallChunks})
	const workers = 16
	iters := 20
	if testing.Short() {
		iters = 5
	}
	// Shared contents, 0 to 3.5 chunks: workers race to store the same ones.
	shared := make([][]byte, 8)
	for i := range shared {
		shared[i] = randomBytes(uint64(300+i), i*smallChunks/2+i)
	}
	engines := []cache.Digest{engineA, engineB}

	var seen struct {
		sync.Mutex
		blobs map[cache.Digest]bool
		arts  map[cache.ArtifactKey]bool
	}
	seen.blobs, seen.arts = map[cache.Digest]bool{}, map[cache.ArtifactKey]bool{}

	// A watcher reads back what has been stored while the workers run:
	// whatever is visible is whole. (Not Verify: see TestVerifyDuringWrites.)
	stop, watched := make(chan struct{}), make(chan int)
	go func() {
		n := 0
		defer func() { watched <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.Stats(); err != nil {
				t.Errorf("Stats during the run: %v", err)
				return
			}
			seen.Lock()
			var ds []cache.Digest
			for d := range seen.blobs {
				ds = append(ds, d)
			}
			seen.Unlock()
			for _, d := range ds {
				if _, err := c.ReadBlob(d); err != nil {
					t.Errorf("ReadBlob during the run: %v", err)
					return
				}
				n++
			}
		}
	}()

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for i := range iters {
				data := shared[(w+i)%len(shared)]
				if i%3 == 2 { // and some content nobody else has
					data = randomBytes(uint64(10_000+w*100+i), rng.IntN(2*smallChunks))
				}
				d, n, err := c.PutBlob(bytes.NewReader(data), 0)
				if err != nil || d != cache.Sum(data) || n != int64(len(data)) {
					t.Errorf("worker %d: PutBlob = %s, %d, %v", w, d, n, err)
					return
				}
				if got, err := c.ReadBlob(d); err != nil || !bytes.Equal(got, data) {
					t.Errorf("worker %d: ReadBlob: %v", w, err)
					return
				}
				if len(data) > 0 {
					r, err := c.OpenBlob(d)
					if err != nil {
						t.Errorf("worker %d: OpenBlob: %v", w, err)
						return
					}
					off := rng.Int64N(int64(len(data)))
					buf := make([]byte, min(int64(smallChunks+7), int64(len(data))-off))
					if _, err := r.Seek(off, io.SeekStart); err != nil {
						t.Errorf("worker %d: Seek: %v", w, err)
						return
					}
					if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, data[off:off+int64(len(buf))]) {
						t.Errorf("worker %d: read at %d: %v", w, off, err)
						return
					}
				}
				k := cache.ArtifactKey{Module: d, Fingerprint: engines[(w+i)%2]}
				if _, err := getArtifact(c, k); err != nil && !errors.Is(err, cache.ErrNotFound) {
					t.Errorf("worker %d: GetArtifact before put: %v", w, err)
					return
				}
				if err := c.PutArtifact(k, artifactFor(k), "m", "t"); err != nil {
					t.Errorf("worker %d: PutArtifact: %v", w, err)
					return
				}
				if got, err := getArtifact(c, k); err != nil || !bytes.Equal(got, artifactFor(k)) {
					t.Errorf("worker %d: GetArtifact: %v", w, err)
					return
				}
				seen.Lock()
				seen.blobs[d], seen.arts[k] = true, true
				seen.Unlock()

				kv := c.KV(fmt.Sprint("worker-", w%4))
				key := fmt.Sprint("k/", w, "/", i)
				if err := kv.Put(key, d[:]); err != nil {
					t.Errorf("worker %d: KV Put: %v", w, err)
					return
				}
				if v, err := kv.Get(key); err != nil || !bytes.Equal(v, d[:]) {
					t.Errorf("worker %d: KV Get = %x, %v", w, v, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	t.Logf("the watcher read %d blobs during the run", <-watched)
	if t.Failed() {
		return
	}

	stored := c.Counters().BlobsStored.Load()
	// Close waits for the background LastUsed writes of the hits; Verify
	// must not run alongside writes (see TestVerifyDuringWrites).
	closeCache(t, c)
	c = openCache(t, path, cache.Options{ChunkSize: smallChunks})
	rep := mustVerifyClean(t, c)
	s, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// Every content is stored once, whoever raced to store it.
	if s.Blobs != len(seen.blobs) || rep.Blobs != len(seen.blobs) {
		t.Errorf("Stats().Blobs = %d, verified %d; want %d distinct contents", s.Blobs, rep.Blobs, len(seen.blobs))
	}
	if stored != int64(len(seen.blobs)) {
		t.Errorf("Counters().BlobsStored = %d, want %d", stored, len(seen.blobs))
	}
	if s.Artifacts != len(seen.arts) || rep.Artifacts != len(seen.arts) {
		t.Errorf("Stats().Artifacts = %d, verified %d; want %d", s.Artifacts, rep.Artifacts, len(seen.arts))
	}
	for d := range seen.blobs {
		if !c.HasBlob(d) {
			t.Errorf("blob %s missing after the run", d)
		}
	}
}
