package cache_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
)

func openDeployCache(t *testing.T) *cache.Cache {
	t.Helper()
	c, err := cache.Open(filepath.Join(t.TempDir(), "edge.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// manifestOf stores files as blobs and returns a manifest naming them.
func manifestOf(t *testing.T, c *cache.Cache, files map[string]string) *cache.Manifest {
	t.Helper()
	m := &cache.Manifest{App: "site", Files: map[string]cache.FileRef{}, Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for p, content := range files {
		d, n, err := c.PutBlob(strings.NewReader(content), 0)
		if err != nil {
			t.Fatal(err)
		}
		m.Files[p] = cache.FileRef{Digest: d.String(), Size: n}
	}
	return m
}

// TestVersionsRetention commits versions beyond the retention count: the
// oldest go, with the blobs only they used; shared blobs and those of
// retained versions survive, GC included.
func TestVersionsRetention(t *testing.T) {
	c := openDeployCache(t)
	toml := "name = \"site\"\n"
	for i, page := range []string{"one", "two", "three"} {
		m := manifestOf(t, c, map[string]string{"edge.toml": toml, "page": page})
		pruned, err := c.Commit(cache.Change{App: "site", Put: m, Keep: 2})
		if err != nil {
			t.Fatal(err)
		}
		if m.Version != i+1 {
			t.Errorf("version %d, want %d", m.Version, i+1)
		}
		if i == 2 && (len(pruned) != 1 || pruned[0] != 1) {
			t.Errorf("pruned %v, want [1]", pruned)
		}
	}
	has := func(s string) bool { return c.HasBlob(cache.Sum([]byte(s))) }
	if has("one") || !has("two") || !has("three") || !has(toml) {
		t.Errorf("blobs after pruning: one %v two %v three %v toml %v", has("one"), has("two"), has("three"), has(toml))
	}
	if _, err := c.GC(); err != nil {
		t.Fatal(err)
	}
	if !has("two") || !has("three") || !has(toml) {
		t.Error("GC removed blobs of retained versions")
	}
	if _, err := c.Commit(cache.Change{App: "site", Activate: 1}); !errors.Is(err, cache.ErrNoVersion) {
		t.Errorf("activate a pruned version: %v", err)
	}
	if _, err := c.Commit(cache.Change{App: "site", Activate: 2}); err != nil {
		t.Fatal(err)
	}
	h, err := c.History("site")
	if err != nil || h.Active != 2 || len(h.Versions) != 2 || h.ActiveManifest().Files["page"].Digest != cache.Sum([]byte("two")).String() {
		t.Fatalf("history %+v, %v", h, err)
	}
	if _, err := c.Commit(cache.Change{App: "site", Remove: true}); err != nil {
		t.Fatal(err)
	}
	if has("two") || has("three") {
		t.Error("blobs of a removed app kept")
	}
	if all, _ := c.Deployed(); len(all) != 0 {
		t.Errorf("deployed after remove: %v", all)
	}
}

func TestCommitNeedsEveryBlob(t *testing.T) {
	c := openDeployCache(t)
	m := manifestOf(t, c, map[string]string{"edge.toml": "x"})
	m.Files["gone"] = cache.FileRef{Digest: cache.Sum([]byte("never stored")).String(), Size: 12}
	var miss *cache.MissingBlobsError
	if _, err := c.Commit(cache.Change{App: "site", Put: m}); !errors.As(err, &miss) || len(miss.Digests) != 1 || m.Version != 0 {
		t.Fatalf("Commit = %v (version %d)", err, m.Version)
	}
	if all, _ := c.Deployed(); len(all) != 0 {
		t.Errorf("a refused version was recorded: %v", all)
	}
}
