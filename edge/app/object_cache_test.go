package app

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/edgecdn/edge/cache"
)

// storeAssets puts each content into a fresh cache as a blob and returns
// one asset per content, as loading an app would.
func storeAssets(t *testing.T, contents ...[]byte) (*cache.Cache, []*Asset) {
	t.Helper()
	c, err := cache.Open(filepath.Join(t.TempDir(), "edge.db"), cache.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	var assets []*Asset
	for i, b := range contents {
		d, n, err := c.PutBlob(bytes.NewReader(b), 0)
		if err != nil {
			t.Fatal(err)
		}
		a := &Asset{Name: fmt.Sprintf("f%d", i), store: c, Digest: d, Size: n, ContentType: "text/plain", ModTime: time.Unix(1e9, 0)}
		a.buildHeader()
		assets = append(assets, a)
	}
	return c, assets
}

func kib(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 1<<10) }

// TestObjectCacheBudgetAndEviction fills a 4 KiB cache with 1 KiB files:
// it never holds more than its budget, and the hand evicts a file not hit
// since its last turn before one that was.
func TestObjectCacheBudgetAndEviction(t *testing.T) {
	var files [][]byte
	for i := range 8 {
		files = append(files, kib(i))
	}
	_, as := storeAssets(t, files...)
	oc := NewObjectCache(4 << 10)
	for i, a := range as[:4] {
		if data, ok, err := oc.Content(a); !ok || err != nil || !bytes.Equal(data, files[i]) {
			t.Fatalf("file %d: ok %v err %v, content match %v", i, ok, err, bytes.Equal(data, files[i]))
		}
	}
	if s := oc.Stats(); s.Used != 4<<10 || s.Objects != 4 || s.Evicted != 0 {
		t.Fatalf("after 4 KiB: %+v", s)
	}
	_, _, _ = oc.Content(as[0]) // a hit: file 0 survives the next turn
	if _, ok, _ := oc.Content(as[4]); !ok {
		t.Fatal("file 4 not admitted")
	}
	s := oc.Stats()
	if s.Used > s.Budget || s.Objects != 4 || s.Evicted != 1 {
		t.Errorf("after a fifth file: %+v", s)
	}
	if as[0].hot.Load() == nil {
		t.Error("the file hit since the last turn was evicted")
	}
	if as[1].hot.Load() != nil {
		t.Error("the first file not hit is still held")
	}
	for round := range 3 {
		for i, a := range as {
			data, ok, err := oc.Content(a)
			if err != nil || (ok && !bytes.Equal(data, files[i])) {
				t.Fatalf("round %d file %d: ok %v err %v", round, i, ok, err)
			}
			if s := oc.Stats(); s.Used > s.Budget {
				t.Fatalf("over budget: %+v", s)
			}
		}
	}
	if s := oc.Stats(); s.Evicted < 8 || s.Used != int64(s.Objects)<<10 {
		t.Errorf("after cycling 8 files through 4 places: %+v", s)
	}
}

// TestObjectCacheLimits: a file over the size limit streams, a nil cache
// caches nothing, and one content under two names is held once.
func TestObjectCacheLimits(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 2<<10)
	_, as := storeAssets(t, big, kib(0), kib(0))
	oc := NewObjectCache(4 << 10) // admits up to 1 KiB
	if _, ok, err := oc.Content(as[0]); ok || err != nil {
		t.Errorf("2 KiB file in a 4 KiB cache: ok %v err %v, want a stream", ok, err)
	}
	var none *ObjectCache
	if _, ok, err := none.Content(as[1]); ok || err != nil {
		t.Errorf("nil cache: ok %v err %v", ok, err)
	}
	_, _, _ = oc.Content(as[1])
	_, _, _ = oc.Content(as[2])
	if s := oc.Stats(); s.Objects != 1 || s.Used != 1<<10 || s.Admitted != 1 {
		t.Errorf("one content under two names: %+v", s)
	}
}

// TestObjectCacheRefusesDamagedBlobs damages a stored blob two ways: a
// flipped byte (its chunk's crc fails) and a chunk rewritten with a crc
// that matches (only the sha256 catches it). Neither is admitted, both
// are reported as errors, and the blob is dropped from the store.
func TestObjectCacheRefusesDamagedBlobs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(v []byte) []byte
	}{
		{"flipped byte", func(v []byte) []byte { v[3] ^= 0xff; return v }},
		{"rewritten with a valid crc", func(v []byte) []byte {
			data := bytes.ToUpper(v[:len(v)-4])
			return binary.BigEndian.AppendUint32(data, crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "edge.db")
			content := []byte("<p>the page as deployed</p>")
			c, err := cache.Open(path, cache.Options{Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			d, n, err := c.PutBlob(bytes.NewReader(content), 0)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.Close()
			damageChunks(t, path, tc.damage)
			c, err = cache.Open(path, cache.Options{Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			a := &Asset{Name: "index.html", store: c, Digest: d, Size: n}
			oc := NewObjectCache(1 << 20)
			data, ok, err := oc.Content(a)
			if err == nil || ok || data != nil {
				t.Fatalf("damaged blob: ok %v err %v data %q, want an error", ok, err, data)
			}
			if !errors.Is(err, cache.ErrCorrupt) && !errors.Is(err, cache.ErrDigestMismatch) {
				t.Errorf("error %v is not ErrCorrupt or ErrDigestMismatch", err)
			}
			if s := oc.Stats(); s.Objects != 0 || s.Refused != 1 || a.hot.Load() != nil {
				t.Errorf("damaged blob admitted: %+v", s)
			}
			if c.HasBlob(d) {
				t.Error("damaged blob still in the store")
			}
		})
	}
}

// damageChunks rewrites every chunk of a closed cache file with damage.
func damageChunks(t *testing.T, path string, damage func(v []byte) []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("chunks"))
		var keys [][]byte
		_ = b.ForEach(func(k, _ []byte) error { keys = append(keys, bytes.Clone(k)); return nil })
		for _, k := range keys {
			if err := b.Put(k, damage(bytes.Clone(b.Get(k)))); err != nil {
				return err
			}
		}
		if len(keys) == 0 {
			return errors.New("no chunks to damage")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
