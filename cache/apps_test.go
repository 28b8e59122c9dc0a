package cache_test

import (
	"slices"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
)

func appsByName(t testing.TB, c *cache.Cache) map[string]cache.AppRecord {
	t.Helper()
	apps, err := c.Apps()
	if err != nil {
		t.Fatalf("Apps: %v", err)
	}
	m := map[string]cache.AppRecord{}
	for _, a := range apps {
		m[a.Name] = a
	}
	return m
}

func TestSetApps(t *testing.T) {
	c, path := newCache(t, cache.Options{})
	d1, d2 := cache.Sum([]byte("one")), cache.Sum([]byte("two"))
	set := []cache.AppRecord{
		{Name: "site", Source: "/srv/site", Blobs: []string{d1.String()}},
		{Name: "api", Source: "/srv/api", Blobs: []string{d1.String(), d2.String()}},
	}
	before := time.Now().Add(-time.Second)
	if err := c.SetApps(set); err != nil {
		t.Fatal(err)
	}
	got := appsByName(t, c)
	if len(got) != 2 {
		t.Fatalf("Apps = %+v", got)
	}
	for _, want := range set {
		a := got[want.Name]
		if a.Source != want.Source || !slices.Equal(a.Blobs, want.Blobs) || a.Updated.Before(before) {
			t.Errorf("app %q = %+v, want %+v", want.Name, a, want)
		}
	}

	// The same set again, in another order (a restart), writes nothing.
	if err := c.SetApps([]cache.AppRecord{set[1], set[0]}); err != nil {
		t.Fatal(err)
	}
	again := appsByName(t, c)
	for name, a := range got {
		if !again[name].Updated.Equal(a.Updated) {
			t.Errorf("app %q rewritten although unchanged", name)
		}
	}

	// A changed set replaces the old one entirely.
	changed := []cache.AppRecord{{Name: "site", Source: "/srv/site", Blobs: []string{d2.String()}}}
	if err := c.SetApps(changed); err != nil {
		t.Fatal(err)
	}
	closeCache(t, c)
	c = openCache(t, path, cache.Options{})
	final := appsByName(t, c)
	if len(final) != 1 || !slices.Equal(final["site"].Blobs, []string{d2.String()}) {
		t.Errorf("Apps after replacing = %+v", final)
	}
	s, err := c.Stats()
	if err != nil || s.Apps != 1 {
		t.Errorf("Stats().Apps = %d, %v; want 1", s.Apps, err)
	}
}

func TestSetAppsChangedSourceIsWritten(t *testing.T) {
	c, _ := newCache(t, cache.Options{})
	if err := c.SetApps([]cache.AppRecord{{Name: "site", Source: "v1"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetApps([]cache.AppRecord{{Name: "site", Source: "v2"}}); err != nil {
		t.Fatal(err)
	}
	if got := appsByName(t, c)["site"].Source; got != "v2" {
		t.Errorf("Source = %q, want v2", got)
	}
}
