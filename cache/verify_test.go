package cache_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/edgecdn/edge/cache"
	bolt "go.etcd.io/bbolt"
)

// loadRecorder is an ArtifactChecker.Load that records what it was given
// and refuses artifacts containing "bad".
type loadRecorder struct {
	mu     sync.Mutex
	loaded [][]byte
}

func (l *loadRecorder) load(data []byte) error {
	l.mu.Lock()
	l.loaded = append(l.loaded, bytes.Clone(data))
	l.mu.Unlock()
	if bytes.Contains(data, []byte("bad")) {
		return errors.New("wasmtime: incompatible artifact")
	}
	return nil
}

func TestVerifyClean(t *testing.T) {
	c, _ := newCache(t, cache.Options{ChunkSize: smallChunks})
	for i, n := range []int{0, 1, smallChunks, 3*smallChunks + 1} {
		mustPut(t, c, randomBytes(uint64(60+i), n))
	}
	mustPutArtifact(t, c, artKey("a", engineA), []byte("good code a"))
	mustPutArtifact(t, c, artKey("b", engineA), []byte("good code b"))
	l := &loadRecorder{}
	rep, err := c.Verify(&cache.ArtifactChecker{Fingerprint: engineA, Load: l.load})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Clean() || rep.Blobs != 4 || rep.Artifacts != 2 || rep.ArtifactsOther != 0 || rep.OrphanChunks != 0 {
		t.Errorf("Verify = %+v; want clean, 4 blobs, 2 artifacts", rep)
	}
	if len(l.loaded) != 2 {
		t.Errorf("Load called %d times, want 2", len(l.loaded))
	}
	// Without a checker nothing is test-loaded and every artifact is "other".
	rep, err = c.Verify(nil)
	if err != nil || !rep.Clean() || rep.ArtifactsOther != 2 {
		t.Errorf("Verify(nil) = %+v, %v", rep, err)
	}
}

func TestVerifyFindsDamagedBlob(t *testing.T) {
	cases := []struct {
		name   string
		damage func(b *bolt.Bucket, key []byte) error
	}{
		{"flipped byte", func(b *bolt.Bucket, key []byte) error {
			v := bytes.Clone(b.Get(key))
			v[100] ^= 0x04
			return b.Put(key, v)
		}},
		{"truncated chunk", func(b *bolt.Bucket, key []byte) error {
			return b.Put(key, bytes.Clone(b.Get(key)[:10]))
		}},
		{"missing chunk", func(b *bolt.Bucket, key []byte) error {
			return b.Delete(key)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, path := newCache(t, cache.Options{ChunkSize: smallChunks})
			goodData, badData := randomBytes(70, 3*smallChunks), randomBytes(71, 3*smallChunks)
			good, bad := mustPut(t, c, goodData), mustPut(t, c, badData)
			closeCache(t, c)
			rawUpdate(t, path, func(tx *bolt.Tx) error {
				return tc.damage(tx.Bucket([]byte("chunks")), chunkKeyOf(t, tx, bad, 1))
			})

			c = openCache(t, path, cache.Options{})
			rep, err := c.Verify(nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Clean() || rep.Blobs != 2 || len(rep.BlobsBad) != 1 {
				t.Fatalf("Verify = %+v; want 1 of 2 blobs bad", rep)
			}
			if msg := rep.BlobsBad[0]; !strings.Contains(msg, bad.String()) || strings.Contains(msg, good.String()) {
				t.Errorf("BlobsBad[0] = %q; want it to name %s", msg, bad)
			}
			if rep.OrphanChunks != 0 || len(rep.Structure) != 0 {
				t.Errorf("Verify = %+v; want no orphans or structural errors", rep)
			}
			if _, err := c.ReadBlob(bad); err == nil {
				t.Error("ReadBlob of a damaged blob succeeded")
			}
			if got, err := c.ReadBlob(good); err != nil || !bytes.Equal(got, goodData) {
				t.Errorf("ReadBlob of the undamaged blob: %v", err)
			}
			if !c.HasBlob(bad) { // Verify reports; it does not repair
				t.Error("Verify removed the damaged blob")
			}
		})
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// refreshChunkCRC rewrites the CRC-32C that trails a chunk's bytes, so the
// damage gets past the chunk check and only the sha256 can catch it.
func refreshChunkCRC(t testing.TB, v []byte) []byte {
	t.Helper()
	data := v[:len(v)-4]
	if binary.BigEndian.Uint32(v[len(v)-4:]) == crc32.Checksum(data, castagnoli) {
		t.Fatal("raw: chunk already matches its CRC after damage")
	}
	return binary.BigEndian.AppendUint32(data, crc32.Checksum(data, castagnoli))
}

func TestReadDamagedBlob(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t testing.TB, b *bolt.Bucket, key []byte) error
		want   error
	}{
		{"flipped byte", func(t testing.TB, b *bolt.Bucket, key []byte) error {
			v := bytes.Clone(b.Get(key))
			v[0] ^= 1
			return b.Put(key, v)
		}, cache.ErrCorrupt},
		{"flipped checksum", func(t testing.TB, b *bolt.Bucket, key []byte) error {
			v := bytes.Clone(b.Get(key))
			v[len(v)-1] ^= 1
			return b.Put(key, v)
		}, cache.ErrCorrupt},
		{"flipped byte, checksum rewritten", func(t testing.TB, b *bolt.Bucket, key []byte) error {
			v := bytes.Clone(b.Get(key))
			if len(v) != smallChunks+4 {
				t.Fatalf("raw: chunk is %d bytes; this test assumes data ‖ CRC-32C (%d)", len(v), smallChunks+4)
			}
			v[7] ^= 0x40
			return b.Put(key, refreshChunkCRC(t, v))
		}, cache.ErrDigestMismatch},
		{"truncated", func(t testing.TB, b *bolt.Bucket, key []byte) error {
			return b.Put(key, bytes.Clone(b.Get(key)[:smallChunks/2]))
		}, cache.ErrCorrupt},
		{"missing", func(t testing.TB, b *bolt.Bucket, key []byte) error {
			return b.Delete(key)
		}, cache.ErrCorrupt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, path := newCache(t, cache.Options{ChunkSize: smallChunks})
			data := randomBytes(72, 2*smallChunks)
			d := mustPut(t, c, data)
			closeCache(t, c)
			rawUpdate(t, path, func(tx *bolt.Tx) error {
				return tc.damage(t, tx.Bucket([]byte("chunks")), chunkKeyOf(t, tx, d, 0))
			})

			c = openCache(t, path, cache.Options{})
			if got, err := c.ReadBlob(d); !errors.Is(err, tc.want) || got != nil {
				t.Fatalf("ReadBlob = %d bytes, %v; want %v", len(got), err, tc.want)
			}
			r, err := c.OpenBlob(d)
			if err != nil {
				t.Fatal(err)
			}
			if r.Digest() != d {
				t.Errorf("Digest() = %s, want %s", r.Digest(), d)
			}
			// Prefetch catches a damaged first chunk before any header is
			// written; a good chunk with wrong content only the sha256 sees.
			perr := r.Prefetch()
			if tc.want == cache.ErrCorrupt && !errors.Is(perr, cache.ErrCorrupt) {
				t.Errorf("Prefetch = %v, want ErrCorrupt", perr)
			}
			if tc.want != cache.ErrCorrupt && perr != nil {
				t.Errorf("Prefetch = %v, want nil", perr)
			}
			rep, err := c.Verify(nil)
			if err != nil || len(rep.BlobsBad) != 1 || !strings.Contains(rep.BlobsBad[0], d.String()) {
				t.Errorf("Verify = %+v, %v; want the blob listed as bad", rep, err)
			}
		})
	}
}

func TestPrefetch(t *testing.T) {
	c, _ := newCache(t, cache.Options{ChunkSize: smallChunks})
	for _, n := range []int{0, 1, 3 * smallChunks} {
		data := randomBytes(uint64(73+n), n)
		r, err := c.OpenBlob(mustPut(t, c, data))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Prefetch(); err != nil {
			t.Fatalf("Prefetch of a %d-byte blob: %v", n, err)
		}
		got, err := io.ReadAll(r) // Prefetch does not move the offset
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read after Prefetch: %v (equal %v)", err, bytes.Equal(got, data))
		}
	}
}

func TestDropBlob(t *testing.T) {
	c, path := newCache(t, cache.Options{ChunkSize: smallChunks})
	data := randomBytes(74, 2*smallChunks+1)
	d := mustPut(t, c, data)
	if err := c.DropBlob(d); err != nil {
		t.Fatal(err)
	}
	if c.HasBlob(d) {
		t.Fatal("HasBlob after DropBlob")
	}
	if err := c.DropBlob(d); err != nil {
		t.Errorf("DropBlob of a missing blob: %v", err)
	}
	// The chunks are garbage now: counted by Verify, swept by GC.
	rep, err := c.Verify(nil)
	if err != nil || !rep.Clean() || rep.OrphanChunks != 3 {
		t.Errorf("Verify after DropBlob = %+v, %v; want 3 orphan chunks", rep, err)
	}
	if g, err := c.GC(); err != nil || g.OrphanChunks != 3 {
		t.Errorf("GC after DropBlob = %+v, %v; want 3 orphan chunks removed", g, err)
	}
	mustVerifyClean(t, c)
	// Imported again, it is whole.
	mustPut(t, c, data)
	if got, err := c.ReadBlob(d); err != nil || !bytes.Equal(got, data) {
		t.Errorf("ReadBlob after re-import: %v", err)
	}
	closeCache(t, c)
	if got := rawChunkCount(t, path); got != 3 {
		t.Errorf("chunks in file = %d, want 3", got)
	}
}

func TestVerifyArtifacts(t *testing.T) {
	c, path := newCache(t, cache.Options{})
	good, refused, foreign, damaged := artKey("good", engineA), artKey("refused", engineA), artKey("foreign", engineB), artKey("damaged", engineA)
	if err := c.PutArtifact(good, []byte("good code"), "good.wasm", "x86_64"); err != nil {
		t.Fatal(err)
	}
	if err := c.PutArtifact(refused, []byte("bad code"), "refused.wasm", "x86_64"); err != nil {
		t.Fatal(err)
	}
	if err := c.PutArtifact(foreign, []byte("bad code of another engine"), "foreign.wasm", "aarch64"); err != nil {
		t.Fatal(err)
	}
	if err := c.PutArtifact(damaged, []byte("good code, soon damaged"), "damaged.wasm", "x86_64"); err != nil {
		t.Fatal(err)
	}
	closeCache(t, c)
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		k := append(damaged.Module[:], damaged.Fingerprint[:]...)
		return tx.Bucket([]byte("artifacts")).Put(k, []byte("good code, soon damageD"))
	})

	c = openCache(t, path, cache.Options{})
	l := &loadRecorder{}
	rep, err := c.Verify(&cache.ArtifactChecker{Fingerprint: engineA, Load: l.load})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Clean() || rep.Artifacts != 4 || rep.ArtifactsOther != 1 || len(rep.ArtifactsBad) != 2 || len(rep.BlobsBad) != 0 {
		t.Fatalf("Verify = %+v; want 4 artifacts, 1 other, 2 bad", rep)
	}
	var refusedMsg, damagedMsg string
	for _, m := range rep.ArtifactsBad {
		switch {
		case strings.Contains(m, refused.Module.String()):
			refusedMsg = m
		case strings.Contains(m, damaged.Module.String()):
			damagedMsg = m
		default:
			t.Errorf("unexpected bad artifact: %q", m)
		}
	}
	if !strings.Contains(refusedMsg, "incompatible artifact") || !strings.Contains(refusedMsg, "refused.wasm") {
		t.Errorf("refused artifact reported as %q; want its label and the Load error", refusedMsg)
	}
	if damagedMsg == "" {
		t.Error("damaged artifact not reported")
	}
	var loaded []string
	for _, b := range l.loaded {
		loaded = append(loaded, string(b))
	}
	if len(loaded) != 2 || !slices.Contains(loaded, "good code") || !slices.Contains(loaded, "bad code") {
		t.Errorf("Load saw %q; want exactly this engine's two intact artifacts", loaded)
	}
	// Verify changes nothing: the damaged one is still there for GetArtifact
	// to find and delete.
	if _, ok := artifactInfo(t, c, damaged); !ok {
		t.Error("Verify deleted the damaged artifact")
	}
	if _, err := getArtifact(c, damaged); !errors.Is(err, cache.ErrDigestMismatch) {
		t.Errorf("GetArtifact(damaged) = %v, want ErrDigestMismatch", err)
	}
}
