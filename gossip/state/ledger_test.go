package state_test

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip/state"
	"github.com/edgecdn/edge/gossip/trust"
)

func openCache(t *testing.T) *cache.Cache {
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

// stmt is an (unsigned) statement: the Ledger orders by its sequence;
// signatures are the Deployer's and the mesh's to check.
func stmt(app, action string, seq int, m *cache.Manifest) *trust.Statement {
	return trust.NewStatement(app, action, seq, m)
}

func apply(t *testing.T, c *cache.Cache, st *state.AppState) error {
	t.Helper()
	ch, err := state.Apply(st, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Commit(ch)
	return err
}

// TestLedger: a remote state is stored under its own version number and
// wins only by its stamp; the loser of a partition (same version, other
// content) is replaced and its unshared blobs dropped; a tombstone
// survives, and a later deploy is numbered past everything seen.
func TestLedger(t *testing.T) {
	c := openCache(t)
	l := &state.Ledger{Cache: c, Node: "a", Clock: func() uint64 { return 100 }}
	local := manifestOf(t, c, map[string]string{"edge.toml": "name = \"site\"\n", "index.html": "mine"})
	local.Signature = "local"
	if _, err := c.Commit(l.Deploy(local, stmt("site", trust.ActDeploy, 1, local), 0)); err != nil {
		t.Fatal(err)
	}
	mine, _ := l.State("site")
	if mine.Stamp != (state.Stamp{Gen: 1, HLC: 100, Node: "a"}) || mine.Version != 1 {
		t.Fatalf("local state %+v v%d", mine.Stamp, mine.Version)
	}
	theirs := manifestOf(t, c, map[string]string{"edge.toml": "name = \"site\"\n", "index.html": "theirs"})
	theirs.Signature = "remote"
	lose := &state.AppState{App: "site", Stamp: state.Stamp{Gen: 1, HLC: 99, Node: "z"}, Version: 1, Manifest: theirs}
	if err := apply(t, c, lose); !errors.Is(err, state.ErrStale) {
		t.Fatalf("older stamp: %v, want ErrStale", err)
	}
	win := &state.AppState{App: "site", Stamp: state.Stamp{Gen: 1, HLC: 100, Node: "b"}, Version: 1, Manifest: theirs}
	if err := apply(t, c, win); err != nil {
		t.Fatal(err)
	}
	got, _ := l.State("site")
	if got.Stamp != win.Stamp || got.Manifest.Signature != "remote" || got.Version != 1 {
		t.Fatalf("after the winner: %+v", got)
	}
	mineBlob, _ := cache.ParseDigest(local.Files["index.html"].Digest)
	if c.HasBlob(mineBlob) {
		t.Error("the losing version's own blob was kept")
	}
	if h, _ := c.History("site"); len(h.Versions) != 1 {
		t.Errorf("history %d versions, want the winner's v1 alone", len(h.Versions))
	}
	jump := &state.AppState{App: "site", Stamp: state.Stamp{Gen: 5, HLC: 1, Node: "b"}, Version: 7, Manifest: theirs}
	if err := apply(t, c, jump); err != nil {
		t.Fatal(err)
	}
	tomb := &state.AppState{App: "site", Stamp: state.Stamp{Gen: 6, HLC: 1, Node: "b"}, Removed: true}
	if err := apply(t, c, tomb); err != nil {
		t.Fatal(err)
	}
	if err := apply(t, c, jump); !errors.Is(err, state.ErrStale) {
		t.Errorf("a state older than the tombstone came back: %v", err)
	}
	states, _ := l.States()
	if len(states) != 1 || !states[0].Removed || states[0].Manifest != nil {
		t.Fatalf("states %+v", states)
	}
	again := manifestOf(t, c, map[string]string{"edge.toml": "name = \"site\"\n", "index.html": "again"})
	if _, err := c.Commit(l.Deploy(again, stmt("site", trust.ActDeploy, 6, again), 0)); !errors.Is(err, state.ErrReplay) {
		t.Fatalf("a deploy signed at the tombstone's sequence: %v, want ErrReplay", err)
	}
	if _, err := c.Commit(l.Deploy(again, stmt("site", trust.ActDeploy, 7, again), 0)); err != nil {
		t.Fatal(err)
	}
	st, _ := l.State("site")
	if again.Version != 8 || st.Stamp.Gen != 7 || st.Removed {
		t.Errorf("redeploy after removal: v%d, state %+v", again.Version, st)
	}
}

// TestTombstoneForUnknownApp: a removal heard of an app this node never
// had is still recorded, so a late copy of an older state cannot bring
// the app back.
func TestTombstoneForUnknownApp(t *testing.T) {
	c := openCache(t)
	m := manifestOf(t, c, map[string]string{"edge.toml": "name = \"site\"\n"})
	tomb := &state.AppState{App: "site", Stamp: state.Stamp{Gen: 2, HLC: 1, Node: "b"}, Removed: true}
	if err := apply(t, c, tomb); err != nil {
		t.Fatal(err)
	}
	old := &state.AppState{App: "site", Stamp: state.Stamp{Gen: 1, HLC: 1, Node: "b"}, Version: 1, Manifest: m}
	if err := apply(t, c, old); !errors.Is(err, state.ErrStale) {
		t.Fatalf("older state after a tombstone: %v, want ErrStale", err)
	}
	if all, _ := c.Deployed(); len(all) != 0 {
		t.Errorf("deployed after a refused state: %+v", all)
	}
}

// TestLocalRemoveOfUnknownApp: removing an app that is not deployed is an
// error for the user, and records nothing.
func TestLocalRemoveOfUnknownApp(t *testing.T) {
	c := openCache(t)
	l := &state.Ledger{Cache: c}
	if _, err := c.Commit(l.Remove("nope", stmt("nope", trust.ActRemove, 1, nil))); !errors.Is(err, cache.ErrNoVersion) {
		t.Fatalf("remove of an unknown app: %v, want ErrNoVersion", err)
	}
	if hs, _ := c.Heads(); len(hs) != 0 {
		t.Errorf("heads after a refused removal: %+v", hs)
	}
}

// TestSequenceBounds: a statement at the current sequence (a replay) or
// below is refused, and so is one leaping past MaxJump or to MaxInt:
// nothing can leave an app at the end of the number range, where the next
// change would overflow.
func TestSequenceBounds(t *testing.T) {
	c := openCache(t)
	l := &state.Ledger{Cache: c, Node: "a"}
	m := manifestOf(t, c, map[string]string{"edge.toml": "name = \"site\"\n"})
	if _, err := c.Commit(l.Deploy(m, stmt("site", trust.ActDeploy, 1, m), 0)); err != nil {
		t.Fatal(err)
	}
	for _, c2 := range []struct {
		seq  int
		want error
	}{{1, state.ErrReplay}, {0, state.ErrReplay}, {-5, state.ErrReplay}, {2 + state.MaxJump, state.ErrSeqJump}, {math.MaxInt, state.ErrSeqJump}} {
		if _, err := c.Commit(l.Deploy(m, stmt("site", trust.ActDeploy, c2.seq, m), 0)); !errors.Is(err, c2.want) {
			t.Errorf("seq %d: %v, want %v", c2.seq, err, c2.want)
		}
	}
	huge := &state.AppState{App: "site", Stamp: state.Stamp{Gen: math.MaxInt, Node: "z"}, Version: 9, Manifest: m}
	if err := apply(t, c, huge); !errors.Is(err, state.ErrSeqJump) {
		t.Errorf("a remote state at MaxInt: %v, want ErrSeqJump", err)
	}
	if _, err := c.Commit(l.Deploy(m, stmt("site", trust.ActDeploy, 2, m), 0)); err != nil {
		t.Errorf("the next real change: %v", err)
	}
}
