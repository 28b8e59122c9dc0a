package cache_test

import (
	"errors"
	"testing"

	"github.com/edgecdn/edge/cache"
)

// TestCommitState: a remote state is stored under its own version number
// and wins only by its stamp; the loser of a partition (same version,
// other content) is replaced and its unshared blobs dropped; a tombstone
// survives, and a later deploy is numbered past everything seen.
func TestCommitState(t *testing.T) {
	c := openDeployCache(t)
	c.SetNode("a", func() uint64 { return 100 })
	local := manifestOf(t, c, map[string]string{"edge.toml": "name = \"site\"\n", "index.html": "mine"})
	local.Signature = "local"
	if _, err := c.CommitVersion(local, 0); err != nil {
		t.Fatal(err)
	}
	mine, _ := c.State("site")
	if mine.Stamp != (cache.Stamp{Gen: 1, HLC: 100, Node: "a"}) || mine.Version != 1 {
		t.Fatalf("local state %+v v%d", mine.Stamp, mine.Version)
	}
	theirs := manifestOf(t, c, map[string]string{"edge.toml": "name = \"site\"\n", "index.html": "theirs"})
	theirs.Signature = "remote"
	lose := &cache.AppState{App: "site", Stamp: cache.Stamp{Gen: 1, HLC: 99, Node: "z"}, Version: 1, Manifest: theirs}
	if _, err := c.CommitState(lose, 0); !errors.Is(err, cache.ErrStale) {
		t.Fatalf("older stamp: %v, want ErrStale", err)
	}
	win := &cache.AppState{App: "site", Stamp: cache.Stamp{Gen: 1, HLC: 100, Node: "b"}, Version: 1, Manifest: theirs}
	if _, err := c.CommitState(win, 0); err != nil {
		t.Fatal(err)
	}
	got, _ := c.State("site")
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
	jump := &cache.AppState{App: "site", Stamp: cache.Stamp{Gen: 5, HLC: 1, Node: "b"}, Version: 7, Manifest: theirs}
	if _, err := c.CommitState(jump, 0); err != nil {
		t.Fatal(err)
	}
	tomb := &cache.AppState{App: "site", Stamp: cache.Stamp{Gen: 6, HLC: 1, Node: "b"}, Removed: true}
	if _, err := c.CommitState(tomb, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CommitState(jump, 0); !errors.Is(err, cache.ErrStale) {
		t.Errorf("a state older than the tombstone came back: %v", err)
	}
	states, _ := c.States()
	if len(states) != 1 || !states[0].Removed || states[0].Manifest != nil {
		t.Fatalf("states %+v", states)
	}
	again := manifestOf(t, c, map[string]string{"edge.toml": "name = \"site\"\n", "index.html": "again"})
	if _, err := c.CommitVersion(again, 0); err != nil {
		t.Fatal(err)
	}
	st, _ := c.State("site")
	if again.Version != 8 || st.Stamp.Gen != 7 || st.Removed {
		t.Errorf("redeploy after removal: v%d, state %+v", again.Version, st)
	}
}
