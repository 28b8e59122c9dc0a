package httpcache_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge/httpcache"
)

// TestRequireRevalidationSurvivesRestart: after RequireRevalidation an
// entry is neither fresh nor servable stale, whatever its origin allowed
// (stale-if-error, stale-while-revalidate) or a soft purge says; so it is
// after a restart that reloads the disk tier; an entry stored afterwards
// is not touched; a 304 makes the entry fresh again.
func TestRequireRevalidationSurvivesRestart(t *testing.T) {
	store := openStore(t)
	c, err := httpcache.New(httpcache.Config{Store: store, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	resp := response("old")
	resp.Header.Set("Cache-Control", "max-age=600, stale-while-revalidate=600, stale-if-error=600")
	resp.Header.Set("ETag", `"v1"`)
	c.Put(httpcache.NewEntry("h/a", http.Header{}, resp), c.Epoch())
	c.Put(httpcache.NewEntry("h/b", http.Header{}, resp), c.Epoch()) // its record is not rewritten
	c.Close()
	if n, err := c.RequireRevalidation(); n != 2 || err != nil {
		t.Fatalf("RequireRevalidation = %d, %v; want 2 entries", n, err)
	}
	time.Sleep(time.Millisecond) // later entries are received after the mark
	put(t, c, "h/new", "new")
	c.Purge(httpcache.Purge{Key: "h/a", Soft: true}) // soft purge must not make it servable
	c.Close()

	check := func(c *httpcache.Cache, when string) {
		t.Helper()
		now := time.Now()
		for _, key := range []string{"h/a", "h/b"} {
			e := c.Lookup(key, http.Header{})
			if e == nil {
				t.Fatalf("%s: %s is gone; it should stay, for a conditional request", when, key)
			}
			if e.Fresh(now) || e.StaleWhileRevalidate(now) || e.StaleIfError(now) {
				t.Errorf("%s: unverified %s servable: fresh %v, swr %v, sie %v", when, key, e.Fresh(now), e.StaleWhileRevalidate(now), e.StaleIfError(now))
			}
			if e.Validators().Get("If-None-Match") != `"v1"` {
				t.Errorf("%s: %s validators %v", when, key, e.Validators())
			}
		}
		if n := c.Lookup("h/new", http.Header{}); n == nil || !n.Fresh(now) {
			t.Errorf("%s: an entry stored after the mark is not fresh", when)
		}
	}
	check(c, "before the restart")
	c2, err := httpcache.New(httpcache.Config{Store: store, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	check(c2, "after the restart")

	e := c2.Lookup("h/a", http.Header{})
	now := time.Now()
	fresh := c2.Revalidated(e, &httpcache.Response{Status: 304, Header: http.Header{"Cache-Control": {"max-age=600"}}, Requested: now, Received: now}, c2.Epoch())
	if !fresh.Fresh(time.Now()) || c2.Lookup("h/a", http.Header{}) != fresh {
		t.Error("a 304 did not make the entry fresh again")
	}
}
