package cache_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgecdn/edge/cache"
)

func TestArtifactFile(t *testing.T) {
	c, path := newCache(t, cache.Options{})
	k := artKey("app.wasm", engineA)
	data := randomBytes(80, 10_000)
	mustPutArtifact(t, c, k, data)

	file := artifactFilePath(t, c, k)
	if got, err := os.ReadFile(file); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("artifact file %s: %v (equal %v)", file, err, bytes.Equal(got, data))
	}
	if !filepath.IsAbs(file) || filepath.Dir(filepath.Dir(file)) != filepath.Dir(path) {
		t.Errorf("artifact file %s is not beside the cache file %s", file, path)
	}
	if h := c.Counters().ArtifactHits.Load(); h != 1 {
		t.Errorf("ArtifactHits = %d, want 1", h)
	}
	if _, err := c.ArtifactFile(artKey("app.wasm", engineB)); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("ArtifactFile of a missing artifact: %v, want ErrNotFound", err)
	}

	repairs := []struct {
		name  string
		spoil func() error
	}{
		{"removed", func() error { return os.Remove(file) }},
		{"damaged", func() error {
			b := bytes.Clone(data)
			b[5000] ^= 1
			return os.WriteFile(file, b, 0o600)
		}},
		{"truncated", func() error { return os.WriteFile(file, data[:100], 0o600) }},
		{"emptied", func() error { return os.WriteFile(file, nil, 0o600) }},
	}
	for _, r := range repairs {
		t.Run(r.name, func(t *testing.T) {
			if err := r.spoil(); err != nil {
				t.Fatal(err)
			}
			got := artifactFilePath(t, c, k)
			if b, err := os.ReadFile(got); err != nil || !bytes.Equal(b, data) {
				t.Fatalf("ArtifactFile after the file was %s: %s: %v (equal %v)", r.name, got, err, bytes.Equal(b, data))
			}
		})
	}
}

// With its bbolt copy damaged and its file intact, an artifact is served
// from the file and the bbolt copy is restored in the background.
func TestArtifactFileHealsDamagedCopy(t *testing.T) {
	c, path := newCache(t, cache.Options{})
	k := artKey("app.wasm", engineA)
	data := randomBytes(81, 5000)
	mustPutArtifact(t, c, k, data)
	closeCache(t, c)
	rawDamageArtifact(t, path, k, func(b []byte) []byte { b[0] ^= 1; return b })

	c = openCache(t, path, cache.Options{})
	file := artifactFilePath(t, c, k)
	if b, err := os.ReadFile(file); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("artifact file: %v", err)
	}
	closeCache(t, c) // waits for the background check

	c = openCache(t, path, cache.Options{})
	rep, err := c.Verify(nil)
	if err != nil || !rep.Clean() || rep.Artifacts != 1 {
		t.Errorf("Verify after healing = %+v, %v; want one sound artifact", rep, err)
	}
	if got, err := getArtifact(c, k); err != nil || !bytes.Equal(got, data) {
		t.Errorf("GetArtifact after healing: %v", err)
	}
	if n := c.Counters().ArtifactCorrupt.Load(); n != 0 {
		t.Errorf("ArtifactCorrupt = %d after healing, want 0", n)
	}
}

// Whatever removes an artifact (delete, eviction, GC) removes its file.
func TestArtifactFilesFollowTheirArtifacts(t *testing.T) {
	c, _ := newCache(t, cache.Options{ArtifactBudget: 2500, ChunkSize: smallChunks})
	mod := mustPut(t, c, []byte("module bytes"))
	deleted, evicted, collected := artKey("deleted", engineA), artKey("evicted", engineA), cache.ArtifactKey{Module: cache.Sum([]byte("unreferenced")), Fingerprint: engineA}
	kept := cache.ArtifactKey{Module: mod, Fingerprint: engineA}
	files := map[string]string{}
	for name, k := range map[string]cache.ArtifactKey{"deleted": deleted, "evicted": evicted, "collected": collected, "kept": kept} {
		mustPutArtifact(t, c, k, randomBytes(uint64(len(name)), 500))
		files[name] = artifactFilePath(t, c, k)
	}
	if err := c.DeleteArtifact(deleted); err != nil {
		t.Fatal(err)
	}
	// evicted is now the least recently used; kept and collected are touched.
	for _, k := range []cache.ArtifactKey{kept, collected} {
		info, _ := artifactInfo(t, c, k)
		if _, err := getArtifact(c, k); err != nil {
			t.Fatal(err)
		}
		waitTouched(t, c, k, info.LastUsed)
	}
	mustPutArtifact(t, c, artKey("big", engineA), make([]byte, 1400)) // 3*500 + 1400 > 2500 >= 2*500 + 1400
	if _, ok := artifactInfo(t, c, evicted); ok {
		t.Fatal("the least recently used artifact was not evicted")
	}
	if _, ok := artifactInfo(t, c, kept); !ok {
		t.Fatal("a recently used artifact was evicted")
	}
	if err := c.SetApps([]cache.AppRecord{{Name: "site", Blobs: []string{mod.String()}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GC(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"deleted": false, "evicted": false, "collected": false, "kept": true} {
		if got := fileExists(files[name]); got != want {
			t.Errorf("file of the %s artifact exists = %v, want %v", name, got, want)
		}
	}
}

func TestOpenRemovesTemporaryArtifactFiles(t *testing.T) {
	c, path := newCache(t, cache.Options{})
	k := artKey("app.wasm", engineA)
	mustPutArtifact(t, c, k, []byte("code"))
	file := artifactFilePath(t, c, k)
	closeCache(t, c)
	tmp := filepath.Join(filepath.Dir(file), ".tmp-123456")
	if err := os.WriteFile(tmp, []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	openCache(t, path, cache.Options{})
	if fileExists(tmp) {
		t.Error("Open left a crashed write's temporary file")
	}
	if !fileExists(file) {
		t.Error("Open removed a finished artifact file")
	}
}
