package cache_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	bolt "go.etcd.io/bbolt"
)

// smallChunks keeps blob tests fast: a few KiB exercise every chunk path.
const smallChunks = 4096

// quiet is a logger that drops everything, so tests do not spam stderr.
var quiet = slog.New(slog.DiscardHandler)

// openCache opens the cache at path and closes it when the test ends.
func openCache(t testing.TB, path string, opt cache.Options) *cache.Cache {
	t.Helper()
	if opt.Log == nil {
		opt.Log = quiet
	}
	c, err := cache.Open(path, opt)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = c.Close() }) // Close is safe to call twice
	return c
}

// newCache opens a fresh cache file in a temporary directory.
func newCache(t testing.TB, opt cache.Options) (*cache.Cache, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cache.db")
	return openCache(t, path, opt), path
}

func closeCache(t testing.TB, c *cache.Cache) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// randomBytes returns n deterministic pseudo-random bytes for seed.
func randomBytes(seed uint64, n int) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// rawUpdate edits a closed cache file directly with bbolt, the way damage
// at rest or a crash would.
func rawUpdate(t testing.TB, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("raw open: %v", err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatalf("raw update: %v", err)
	}
}

// rawChunkCount counts the records in the chunks bucket of a closed file.
func rawChunkCount(t testing.TB, path string) int {
	t.Helper()
	n := 0
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("chunks")).ForEach(func(_, _ []byte) error { n++; return nil })
	})
	return n
}

// chunkKeyOf returns the key of chunk i of blob d, read from the blob's
// record the way the cache lays it out: chunk id (16 bytes) ‖ index (4).
func chunkKeyOf(t testing.TB, tx *bolt.Tx, d cache.Digest, i uint32) []byte {
	t.Helper()
	v := tx.Bucket([]byte("blobs")).Get(d[:])
	if v == nil {
		t.Fatalf("raw: no record for blob %s", d)
	}
	var meta struct {
		ChunkID []byte `json:"chunk_id"`
	}
	if err := json.Unmarshal(v, &meta); err != nil || len(meta.ChunkID) != 16 {
		t.Fatalf("raw: blob record %s: %v (chunk id %x)", v, err, meta.ChunkID)
	}
	return binary.BigEndian.AppendUint32(bytes.Clone(meta.ChunkID), i)
}

// eventually polls cond until it holds or five seconds pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustPut(t testing.TB, c *cache.Cache, data []byte) cache.Digest {
	t.Helper()
	d, n, err := c.PutBlob(bytes.NewReader(data), 0)
	if err != nil {
		t.Fatalf("PutBlob(%d bytes): %v", len(data), err)
	}
	if d != cache.Sum(data) || n != int64(len(data)) {
		t.Fatalf("PutBlob = %s, %d; want %s, %d", d, n, cache.Sum(data), len(data))
	}
	return d
}

func mustVerifyClean(t testing.TB, c *cache.Cache) *cache.VerifyReport {
	t.Helper()
	rep, err := c.Verify(nil)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !rep.Clean() || rep.OrphanChunks != 0 {
		t.Fatalf("Verify: not clean: %+v", rep)
	}
	return rep
}

func TestOpenMissingDirectoryNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "cache.db")
	c, err := cache.Open(path, cache.Options{Log: quiet})
	if err == nil {
		_ = c.Close()
		t.Fatal("Open in a missing directory succeeded")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the path %s", err, path)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %q does not wrap os.ErrNotExist", err)
	}
	if _, statErr := os.Stat(filepath.Dir(path)); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("Open created the directory: %v", statErr)
	}
}

// flock(2) locks belong to an open file description, so a second Open of
// the same file in one process is refused just like one from another process.
func TestOpenLockedFile(t *testing.T) {
	_, path := newCache(t, cache.Options{})
	start := time.Now()
	c2, err := cache.Open(path, cache.Options{LockTimeout: 100 * time.Millisecond, Log: quiet})
	if err == nil {
		_ = c2.Close()
		t.Fatal("second Open of a file in use succeeded")
	}
	if !errors.Is(err, cache.ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Errorf("second Open: %v; want ErrLocked naming %s", err, path)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Errorf("second Open waited %v for a 100ms lock timeout", waited)
	}
}

func TestReadOnlyOpenReportsStats(t *testing.T) {
	c, path := newCache(t, cache.Options{ChunkSize: smallChunks})
	blob := randomBytes(1, 3*smallChunks+5)
	d := mustPut(t, c, blob)
	mustPut(t, c, []byte("second"))
	k := cache.ArtifactKey{Module: d, Fingerprint: cache.Sum([]byte("engine"))}
	if err := c.PutArtifact(k, []byte("compiled"), "mod", "x86_64"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetApps([]cache.AppRecord{{Name: "site", Blobs: []string{d.String()}}}); err != nil {
		t.Fatal(err)
	}
	if err := c.KV("tls").Put("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	closeCache(t, c)

	ro := openCache(t, path, cache.Options{ReadOnly: true})
	s, err := ro.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	want := cache.Stats{
		File: path, Apps: 1, Blobs: 2, BlobBytes: int64(len(blob) + len("second")),
		Artifacts: 1, ArtifactBytes: int64(len("compiled")), ArtifactBudget: cache.DefaultArtifactBudget,
		ArtifactMisses: 1, KVNamespaces: 1,
	}
	if s.FileBytes <= 0 {
		t.Errorf("FileBytes = %d", s.FileBytes)
	}
	s.FileBytes = 0
	if *s != want {
		t.Errorf("Stats = %+v\nwant    %+v", *s, want)
	}
	got, err := ro.ReadBlob(d)
	if err != nil || !bytes.Equal(got, blob) {
		t.Errorf("ReadBlob on a read-only cache: %v", err)
	}
	if _, _, err := ro.PutBlob(strings.NewReader("x"), 0); err == nil {
		t.Error("PutBlob on a read-only cache succeeded")
	}
}

func TestReadOnlyOpenOfMissingFileFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.db")
	c, err := cache.Open(path, cache.Options{ReadOnly: true, Log: quiet})
	if err == nil {
		_ = c.Close()
		t.Fatal("read-only Open of a missing file succeeded")
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("read-only Open created %s", path)
	}
}

func TestCloseTwice(t *testing.T) {
	c, _ := newCache(t, cache.Options{})
	if err := c.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestPathAndReopenKeepsData(t *testing.T) {
	c, path := newCache(t, cache.Options{ChunkSize: smallChunks})
	if c.Path() != path {
		t.Errorf("Path() = %s, want %s", c.Path(), path)
	}
	data := randomBytes(2, 2*smallChunks+1)
	d := mustPut(t, c, data)
	closeCache(t, c)

	// A different chunk size later must not matter to blobs stored before.
	c = openCache(t, path, cache.Options{ChunkSize: 1000})
	got, err := c.ReadBlob(d)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadBlob after reopen with another chunk size: %v", err)
	}
	mustPut(t, c, data) // identical content, new chunk size: still stored once
	s, err := c.Stats()
	if err != nil || s.Blobs != 1 {
		t.Fatalf("Stats = %+v, %v; want 1 blob", s, err)
	}
	mustVerifyClean(t, c)
}
