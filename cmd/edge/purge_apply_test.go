package main

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
)

// TestMemberPurgeUnreadableIsLogged: a member's signed purge whose body
// this node cannot read removes nothing, and says so in the log rather
// than dropping it unseen.
func TestMemberPurgeUnreadableIsLogged(t *testing.T) {
	store, err := cache.Open(filepath.Join(t.TempDir(), cacheFile), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	hc, err := newHTTPCache(serveConfig{HTTPCacheMemory: 1 << 20}, store, log)
	if err != nil {
		t.Fatal(err)
	}
	w := &meshWiring{httpCache: hc}
	apply := w.applyPurge(log)
	for _, c := range []struct{ body, want string }{
		{`{"url":`, "its body does not decode"},
		{`{"url":"http://a.test/x","tag":"t"}`, "signed purge was not applied"},
	} {
		logged.Reset()
		apply("shop", []byte(c.body), time.Now())
		if got := logged.String(); !strings.Contains(got, c.want) || !strings.Contains(got, "app=shop") {
			t.Errorf("purge %s: log %q, want %q", c.body, got, c.want)
		}
	}
}
