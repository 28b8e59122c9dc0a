package cache_test

import (
	"strings"
	"testing"

	"github.com/edgecdn/edge/cache"
)

// TestHeldBlobs: GC keeps a held blob; releasing the last hold removes
// it, but never one an app references or another owner holds.
func TestHeldBlobs(t *testing.T) {
	c, _ := newCache(t, cache.Options{})
	d, _, err := c.PutHeldBlob(strings.NewReader("body"), 0, "owner-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PutHeldBlob(strings.NewReader("body"), 0, "owner-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GC(); err != nil || !c.HasBlob(d) {
		t.Fatalf("GC removed a held blob (err %v)", err)
	}
	if err := c.ReleaseBlob(d, "owner-1"); err != nil || !c.HasBlob(d) {
		t.Fatalf("released one of two holds: blob gone (err %v)", err)
	}
	if err := c.ReleaseBlob(d, "owner-2"); err != nil || c.HasBlob(d) {
		t.Fatalf("released the last hold: blob kept (err %v)", err)
	}
	if err := c.ReleaseBlob(d, "owner-2"); err != nil {
		t.Errorf("releasing twice: %v", err)
	}

	// An app's blob stays when an HTTP response with the same bytes goes.
	app, _, err := c.PutHeldBlob(strings.NewReader("shared"), 0, "owner-3")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetApps([]cache.AppRecord{{Name: "a", Blobs: []string{app.String()}}}); err != nil {
		t.Fatal(err)
	}
	if err := c.ReleaseBlob(app, "owner-3"); err != nil || !c.HasBlob(app) {
		t.Fatalf("release removed a blob an app references (err %v)", err)
	}
	if rep, err := c.Verify(nil); err != nil || !rep.Clean() {
		t.Errorf("verify after releases: %+v %v", rep, err)
	}
}
