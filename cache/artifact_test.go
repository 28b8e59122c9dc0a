package cache_test

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	bolt "go.etcd.io/bbolt"
)

var (
	engineA = cache.Sum([]byte("wasmtime 39 x86_64 avx2 cfg#1"))
	engineB = cache.Sum([]byte("wasmtime 40 x86_64 avx2 cfg#1"))
)

func artKey(module string, fp cache.Digest) cache.ArtifactKey {
	return cache.ArtifactKey{Module: cache.Sum([]byte(module)), Fingerprint: fp}
}

func mustPutArtifact(t testing.TB, c *cache.Cache, k cache.ArtifactKey, data []byte) {
	t.Helper()
	if err := c.PutArtifact(k, data, "label", "x86_64-unknown-linux-gnu"); err != nil {
		t.Fatalf("PutArtifact: %v", err)
	}
}

func artifactInfo(t testing.TB, c *cache.Cache, k cache.ArtifactKey) (cache.ArtifactInfo, bool) {
	t.Helper()
	all, err := c.Artifacts()
	if err != nil {
		t.Fatalf("Artifacts: %v", err)
	}
	for _, a := range all {
		if a.Key == k {
			return a, true
		}
	}
	return cache.ArtifactInfo{}, false
}

func TestArtifactRoundTrip(t *testing.T) {
	c, _ := newCache(t, cache.Options{})
	k := artKey("app.wasm", engineA)
	data := randomBytes(20, 10_000)
	in := bytes.Clone(data)
	start := time.Now().Add(-time.Second)
	if err := c.PutArtifact(k, in, "app.wasm", "x86_64-unknown-linux-gnu"); err != nil {
		t.Fatal(err)
	}
	in[0] ^= 0xff // the caller's slice is not kept

	got, err := getArtifact(c, k)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetArtifact: %v (equal %v)", err, bytes.Equal(got, data))
	}
	for i := range got { // a private copy: scribbling on it changes nothing
		got[i] = 0
	}
	again, err := getArtifact(c, k)
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("second GetArtifact after mutating the first copy: %v (equal %v)", err, bytes.Equal(again, data))
	}
	if &again[0] == &got[0] {
		t.Fatal("two GetArtifact calls returned the same backing array")
	}

	info, ok := artifactInfo(t, c, k)
	if !ok {
		t.Fatal("Artifacts() does not list the artifact")
	}
	if info.Size != int64(len(data)) || info.Label != "app.wasm" || info.Target != "x86_64-unknown-linux-gnu" ||
		info.Created.Before(start) || info.LastUsed.Before(info.Created) {
		t.Errorf("ArtifactInfo = %+v", info)
	}
	if h, m := c.Counters().ArtifactHits.Load(), c.Counters().ArtifactMisses.Load(); h != 2 || m != 1 {
		t.Errorf("Counters: hits %d, misses %d; want 2, 1", h, m)
	}
}

func TestArtifactMisses(t *testing.T) {
	c, _ := newCache(t, cache.Options{})
	k := artKey("app.wasm", engineA)
	mustPutArtifact(t, c, k, []byte("code for engine A"))
	cases := []struct {
		name string
		key  cache.ArtifactKey
	}{
		{"other engine fingerprint", artKey("app.wasm", engineB)},
		{"other module", artKey("other.wasm", engineA)},
		{"zero key", cache.ArtifactKey{}},
		{"fields swapped", cache.ArtifactKey{Module: k.Fingerprint, Fingerprint: k.Module}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := getArtifact(c, tc.key); !errors.Is(err, cache.ErrNotFound) || got != nil {
				t.Errorf("GetArtifact = %q, %v; want ErrNotFound", got, err)
			}
		})
	}
	if got := c.Counters().ArtifactCorrupt.Load(); got != 0 {
		t.Errorf("misses counted as corrupt: %d", got)
	}
	if got := c.Counters().ArtifactHits.Load(); got != 0 {
		t.Errorf("misses counted as hits: %d", got)
	}
	if _, err := getArtifact(c, k); err != nil {
		t.Errorf("the stored artifact after misses: %v", err)
	}
}

func TestArtifactOverwriteAndDelete(t *testing.T) {
	c, _ := newCache(t, cache.Options{})
	k := artKey("app.wasm", engineA)
	mustPutArtifact(t, c, k, bytes.Repeat([]byte("a"), 500))
	mustPutArtifact(t, c, k, []byte("recompiled"))
	got, err := getArtifact(c, k)
	if err != nil || string(got) != "recompiled" {
		t.Fatalf("GetArtifact after overwrite = %q, %v", got, err)
	}
	s, err := c.Stats()
	if err != nil || s.Artifacts != 1 || s.ArtifactBytes != int64(len("recompiled")) {
		t.Fatalf("Stats = %+v, %v; want one artifact of 10 bytes", s, err)
	}
	if err := c.DeleteArtifact(k); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteArtifact(k); err != nil {
		t.Errorf("deleting a missing artifact: %v", err)
	}
	if _, err := getArtifact(c, k); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("GetArtifact after delete: %v", err)
	}
}

func TestArtifactEmpty(t *testing.T) {
	c, path := newCache(t, cache.Options{})
	k := artKey("empty.wasm", engineA)
	mustPutArtifact(t, c, k, nil)
	closeCache(t, c)
	c = openCache(t, path, cache.Options{})
	got, err := getArtifact(c, k)
	if err != nil || len(got) != 0 {
		t.Fatalf("GetArtifact of an empty artifact = %q, %v", got, err)
	}
}

// fileState is what happens to an artifact's file (the copy Wasmtime maps)
// while its bbolt copy is damaged.
type fileState int

const (
	fileIntact fileState = iota
	fileRemoved
	fileDamaged
)

func (f fileState) String() string {
	return [...]string{"file intact", "file removed", "file damaged"}[f]
}

// rawDamageArtifact replaces the bbolt copy of k in a closed file.
func rawDamageArtifact(t testing.TB, path string, k cache.ArtifactKey, damage func([]byte) []byte) {
	t.Helper()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("artifacts"))
		kb := append(k.Module[:], k.Fingerprint[:]...)
		v := b.Get(kb)
		if v == nil {
			t.Fatal("raw: artifact not under module‖fingerprint")
		}
		return b.Put(kb, damage(bytes.Clone(v)))
	})
}

// artifactFilePath asks the cache where k's file is (writing it if needed).
func artifactFilePath(t testing.TB, c *cache.Cache, k cache.ArtifactKey) string {
	t.Helper()
	p, err := c.ArtifactFile(k)
	if err != nil {
		t.Fatalf("ArtifactFile: %v", err)
	}
	return p
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestArtifactCorruption(t *testing.T) {
	damages := []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"flipped byte", func(b []byte) []byte { b[len(b)/2] ^= 0x01; return b }},
		{"flipped first byte", func(b []byte) []byte { b[0] ^= 0x80; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }},
		{"truncated to nothing", func(b []byte) []byte { return b[:0] }},
		{"extended", func(b []byte) []byte { return append(b, 0) }},
	}
	for _, dmg := range damages {
		for _, fs := range []fileState{fileRemoved, fileDamaged, fileIntact} {
			t.Run(dmg.name+", "+fs.String(), func(t *testing.T) {
				c, path := newCache(t, cache.Options{})
				bad, good := artKey("bad.wasm", engineA), artKey("good.wasm", engineA)
				data := randomBytes(21, 4096)
				mustPutArtifact(t, c, bad, data)
				mustPutArtifact(t, c, good, data)
				file := artifactFilePath(t, c, bad)
				closeCache(t, c)
				rawDamageArtifact(t, path, bad, dmg.damage)
				switch fs {
				case fileRemoved:
					if err := os.Remove(file); err != nil {
						t.Fatal(err)
					}
				case fileDamaged:
					fb, err := os.ReadFile(file)
					if err != nil {
						t.Fatal(err)
					}
					fb[10] ^= 0xff
					if err := os.WriteFile(file, fb, 0o600); err != nil {
						t.Fatal(err)
					}
				}

				c = openCache(t, path, cache.Options{})
				got, err := getArtifact(c, bad)
				// Never damaged bytes: either the damage is reported, or
				// (file intact) the bytes are the original ones.
				healed := fs == fileIntact && err == nil && bytes.Equal(got, data)
				if !healed && (!errors.Is(err, cache.ErrDigestMismatch) || got != nil) {
					t.Fatalf("GetArtifact of a damaged artifact = %d bytes, %v; want ErrDigestMismatch", len(got), err)
				}
				if n := c.Counters().ArtifactCorrupt.Load(); n != 1 {
					t.Errorf("ArtifactCorrupt = %d, want 1", n)
				}
				got, err = getArtifact(c, bad)
				if fs == fileIntact {
					// Restored from its file, which alone is enough.
					if err != nil || !bytes.Equal(got, data) {
						t.Errorf("second GetArtifact with an intact file = %v; want the original bytes", err)
					}
				} else {
					if !errors.Is(err, cache.ErrNotFound) {
						t.Errorf("second GetArtifact: %v; want ErrNotFound (deleted)", err)
					}
					if _, ok := artifactInfo(t, c, bad); ok {
						t.Error("the damaged artifact is still listed")
					}
					if fileExists(file) {
						t.Error("the damaged artifact's file is still there")
					}
				}
				if n := c.Counters().ArtifactCorrupt.Load(); n != 1 {
					t.Errorf("ArtifactCorrupt after the second get = %d, want 1", n)
				}
				if got, err := getArtifact(c, good); err != nil || !bytes.Equal(got, data) {
					t.Errorf("the undamaged artifact: %v", err)
				}
				// Recompiled and stored again, it loads.
				mustPutArtifact(t, c, bad, data)
				if got, err := getArtifact(c, bad); err != nil || !bytes.Equal(got, data) {
					t.Errorf("GetArtifact after storing again: %v", err)
				}
			})
		}
	}
}

// waitTouched waits for the asynchronous LastUsed update of a hit.
func waitTouched(t testing.TB, c *cache.Cache, k cache.ArtifactKey, after time.Time) {
	t.Helper()
	eventually(t, "the artifact's LastUsed to move", func() bool {
		info, ok := artifactInfo(t, c, k)
		return ok && info.LastUsed.After(after)
	})
}

func TestArtifactLRUEviction(t *testing.T) {
	c, _ := newCache(t, cache.Options{ArtifactBudget: 3500})
	a, b, cc, d := artKey("a", engineA), artKey("b", engineA), artKey("c", engineA), artKey("d", engineA)
	for i, k := range []cache.ArtifactKey{a, b, cc} {
		mustPutArtifact(t, c, k, randomBytes(uint64(30+i), 1000))
	}
	if got := c.Counters().ArtifactEvictions.Load(); got != 0 {
		t.Fatalf("evicted %d while within budget", got)
	}
	infoA, _ := artifactInfo(t, c, a)
	if _, err := getArtifact(c, a); err != nil {
		t.Fatal(err)
	}
	waitTouched(t, c, a, infoA.LastUsed)

	mustPutArtifact(t, c, d, randomBytes(33, 1000)) // 4000 > 3500: one must go
	present := map[string]bool{}
	for name, k := range map[string]cache.ArtifactKey{"a": a, "b": b, "c": cc, "d": d} {
		_, present[name] = artifactInfo(t, c, k)
	}
	want := map[string]bool{"a": true, "b": false, "c": true, "d": true}
	for name := range want {
		if present[name] != want[name] {
			t.Errorf("after putting d: present %v, want %v (b is least recently used)", present, want)
			break
		}
	}
	if _, err := getArtifact(c, b); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("GetArtifact(b): %v, want ErrNotFound", err)
	}
	if got := c.Counters().ArtifactEvictions.Load(); got != 1 {
		t.Errorf("ArtifactEvictions = %d, want 1", got)
	}
	s, err := c.Stats()
	if err != nil || s.ArtifactBytes != 3000 || s.ArtifactBudget != 3500 {
		t.Errorf("Stats = %+v, %v", s, err)
	}
}

func TestArtifactLRUTouchSurvivesReopen(t *testing.T) {
	c, path := newCache(t, cache.Options{ArtifactBudget: 2500})
	a, b, cc := artKey("a", engineA), artKey("b", engineA), artKey("c", engineA)
	mustPutArtifact(t, c, a, make([]byte, 1000))
	mustPutArtifact(t, c, b, make([]byte, 1000))
	if _, err := getArtifact(c, a); err != nil {
		t.Fatal(err)
	}
	closeCache(t, c) // waits for the touch

	c = openCache(t, path, cache.Options{ArtifactBudget: 2500})
	mustPutArtifact(t, c, cc, make([]byte, 1000))
	for k, want := range map[cache.ArtifactKey]bool{a: true, b: false, cc: true} {
		if _, ok := artifactInfo(t, c, k); ok != want {
			t.Errorf("artifact %x present = %v, want %v", k.Module[:4], ok, want)
		}
	}
}

func TestArtifactJustPutIsNeverEvicted(t *testing.T) {
	c, _ := newCache(t, cache.Options{ArtifactBudget: 1000})
	small, huge, next := artKey("small", engineA), artKey("huge", engineA), artKey("next", engineA)
	mustPutArtifact(t, c, small, make([]byte, 400))
	big := randomBytes(40, 5000)
	mustPutArtifact(t, c, huge, big)
	if got, err := getArtifact(c, huge); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("the artifact just put, alone over budget: %v", err)
	}
	if _, ok := artifactInfo(t, c, small); ok {
		t.Error("the older artifact was kept although the total is over budget")
	}
	if got := c.Counters().ArtifactEvictions.Load(); got != 1 {
		t.Errorf("ArtifactEvictions = %d, want 1", got)
	}
	// The next put evicts the huge one in its turn.
	mustPutArtifact(t, c, next, make([]byte, 10))
	if _, ok := artifactInfo(t, c, huge); ok {
		t.Error("the huge artifact survived a later put over budget")
	}
	if _, ok := artifactInfo(t, c, next); !ok {
		t.Error("the artifact just put is gone")
	}
}

func TestArtifactCountersPersist(t *testing.T) {
	c, path := newCache(t, cache.Options{})
	a, b := artKey("a", engineA), artKey("b", engineB)
	mustPutArtifact(t, c, a, []byte("A"))
	mustPutArtifact(t, c, b, []byte("B"))
	for range 3 {
		if _, err := getArtifact(c, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := getArtifact(c, artKey("missing", engineA)); !errors.Is(err, cache.ErrNotFound) {
		t.Fatal(err)
	}
	closeCache(t, c)

	c = openCache(t, path, cache.Options{})
	s, err := c.Stats()
	if err != nil || s.ArtifactHits != 3 || s.ArtifactMisses != 2 {
		t.Fatalf("Stats after reopen: %+v, %v; want 3 hits, 2 misses", s, err)
	}
	if h := c.Counters().ArtifactHits.Load(); h != 0 {
		t.Errorf("a new process starts with %d live hits", h)
	}
	if _, err := getArtifact(c, b); err != nil {
		t.Fatal(err)
	}
	mustPutArtifact(t, c, artKey("c", engineA), []byte("C"))
	closeCache(t, c)

	c = openCache(t, path, cache.Options{ReadOnly: true})
	s, err = c.Stats()
	if err != nil || s.ArtifactHits != 4 || s.ArtifactMisses != 3 {
		t.Fatalf("Stats after second reopen: %+v, %v; want 4 hits, 3 misses", s, err)
	}
}

func TestWithArtifact(t *testing.T) {
	c, path := newCache(t, cache.Options{})
	k := artKey("app.wasm", engineA)
	data := randomBytes(41, 3000)
	mustPutArtifact(t, c, k, data)

	calls := 0
	err := c.WithArtifact(k, func(b []byte) error {
		calls++
		if !bytes.Equal(b, data) {
			t.Errorf("WithArtifact passed %d bytes that differ from the %d stored", len(b), len(data))
		}
		return nil
	})
	if err != nil || calls != 1 {
		t.Fatalf("WithArtifact = %v after %d calls; want nil after 1", err, calls)
	}
	if h := c.Counters().ArtifactHits.Load(); h != 1 {
		t.Errorf("ArtifactHits = %d, want 1", h)
	}

	// The consumer's error comes back as is; it is no hit and no damage.
	errLoad := errors.New("deserialize: incompatible")
	if err := c.WithArtifact(k, func([]byte) error { return errLoad }); !errors.Is(err, errLoad) {
		t.Errorf("WithArtifact with a failing consumer = %v, want %v", err, errLoad)
	}
	if h, bad := c.Counters().ArtifactHits.Load(), c.Counters().ArtifactCorrupt.Load(); h != 1 || bad != 0 {
		t.Errorf("after a failing consumer: hits %d, corrupt %d; want 1, 0", h, bad)
	}
	if _, ok := artifactInfo(t, c, k); !ok {
		t.Error("WithArtifact deleted an artifact its consumer refused")
	}

	if err := c.WithArtifact(artKey("app.wasm", engineB), func([]byte) error {
		t.Error("consumer called for a missing artifact")
		return nil
	}); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("WithArtifact of a missing artifact = %v, want ErrNotFound", err)
	}

	file := artifactFilePath(t, c, k)
	closeCache(t, c)
	rawDamageArtifact(t, path, k, func(b []byte) []byte { b[len(b)-1] ^= 1; return b })
	if err := os.Remove(file); err != nil { // no copy left to heal from
		t.Fatal(err)
	}
	c = openCache(t, path, cache.Options{})
	if err := c.WithArtifact(k, func([]byte) error {
		t.Error("consumer called with damaged bytes")
		return nil
	}); !errors.Is(err, cache.ErrDigestMismatch) {
		t.Errorf("WithArtifact of a damaged artifact = %v, want ErrDigestMismatch", err)
	}
	if _, ok := artifactInfo(t, c, k); ok {
		t.Error("the damaged artifact was not deleted")
	}
}

func TestArtifactDamagedRecord(t *testing.T) {
	c, path := newCache(t, cache.Options{})
	k := artKey("app.wasm", engineA)
	mustPutArtifact(t, c, k, []byte("code"))
	closeCache(t, c)
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		kb := append(k.Module[:], k.Fingerprint[:]...)
		return tx.Bucket([]byte("artmeta")).Put(kb, []byte(`{"size":`))
	})
	c = openCache(t, path, cache.Options{})
	if _, err := getArtifact(c, k); !errors.Is(err, cache.ErrDigestMismatch) {
		t.Fatalf("GetArtifact with a damaged record = %v, want ErrDigestMismatch", err)
	}
	if _, err := getArtifact(c, k); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("second GetArtifact = %v, want ErrNotFound", err)
	}
	if got := c.Counters().ArtifactCorrupt.Load(); got != 1 {
		t.Errorf("ArtifactCorrupt = %d, want 1", got)
	}
}

// getArtifact is a private copy of an artifact, through WithArtifact.
func getArtifact(c *cache.Cache, k cache.ArtifactKey) ([]byte, error) {
	var data []byte
	err := c.WithArtifact(k, func(b []byte) error {
		data = bytes.Clone(b)
		return nil
	})
	return data, err
}
