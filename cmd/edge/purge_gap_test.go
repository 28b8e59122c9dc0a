package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip"
)

// versionedOrigin serves /doc at the version it is set to, with an ETag,
// answering If-None-Match, and records the validators it was sent.
type versionedOrigin struct {
	mu       sync.Mutex
	version  string
	requests int
	inm      []string
}

func (o *versionedOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests++
	o.inm = append(o.inm, r.Header.Get("If-None-Match"))
	etag := `"` + o.version + `"`
	w.Header().Set("Cache-Control", "max-age=600")
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = io.WriteString(w, "doc "+o.version)
}

func (o *versionedOrigin) set(v string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.version = v
}

func (o *versionedOrigin) seen() (int, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests, append([]string(nil), o.inm...)
}

// cdnDoc fetches /doc for host cdn.test from n: body and X-Cache.
func cdnDoc(t *testing.T, n *meshNode) (string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", n.banner.http+"/doc", nil)
	req.Host = "cdn.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s /doc = %d %q", n.name, resp.StatusCode, body)
	}
	return string(body), resp.Header.Get("X-Cache")
}

// TestPurgeMissedWhileAwayProcesses: node b caches /doc, is stopped, and
// a purge of /doc is issued on a while b is down; a's memory of it is
// then gone (a restarts, as after the ten minutes purges are kept). A
// short absence costs nothing: b restarted soon serves its disk tier
// without asking the origin. But b back after more than ten minutes
// (its recorded in-sync time set back) must not serve what was purged:
// it revalidates (If-None-Match with the old ETag) and serves the
// origin's new version.
func TestPurgeMissedWhileAwayProcesses(t *testing.T) {
	origin := &versionedOrigin{version: "v1"}
	srv := httptest.NewServer(origin)
	defer srv.Close()
	app := originApp(t, srv.URL)
	k := newMeshKit(t)
	a := k.start(t, "a", "127.0.0.2", "", "", "--app", app)
	b := k.start(t, "b", "127.0.0.3", a.gossip, "", "--app", app)
	waitMembers(t, []*meshNode{a, b}, 2)
	for _, n := range []*meshNode{a, b} {
		cdnDoc(t, n)
		if body, xc := cdnDoc(t, n); body != "doc v1" || xc != "HIT" {
			t.Fatalf("%s: %q %s, want doc v1 from its cache", n.name, body, xc)
		}
	}
	b.waitLog(t, "purges in sync with the mesh") // its in-sync time is recorded
	b.stop(t)
	b.restart(t)
	before, _ := origin.seen()
	if body, xc := cdnDoc(t, b); body != "doc v1" || xc != "HIT" {
		t.Fatalf("b after a short absence: %q %s, want doc v1 from its disk tier", body, xc)
	}
	if after, _ := origin.seen(); after != before {
		t.Fatalf("b after a short absence asked the origin %d times", after-before)
	}
	b.waitLog(t, "purges in sync with the mesh")

	b.stop(t)
	origin.set("v2")
	if out, code := edgeCLI(t, "purge", "--app", "cdn", "--key", k.ciKey, "--node", a.banner.admin, "--data", a.data, "http://cdn.test/doc"); code != 0 {
		t.Fatalf("edge purge: %d\n%s", code, out)
	}
	if body, _ := cdnDoc(t, a); body != "doc v2" {
		t.Fatalf("a after the purge: %q", body)
	}
	a.stop(t) // its statements are forgotten, as after ten minutes
	store, err := cache.Open(filepath.Join(b.data, cacheFile), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = gossip.MarkPurgeSync(store, time.Now().Add(-11*time.Minute))
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	b.restart(t)
	before, _ = origin.seen()
	if body, xc := cdnDoc(t, b); body != "doc v2" || xc == "HIT" {
		t.Fatalf("b back after 11 minutes serves %q (%s), want the origin's doc v2", body, xc)
	}
	after, inm := origin.seen()
	if after != before+1 || inm[len(inm)-1] != `"v1"` {
		t.Errorf("b asked the origin %d times, last with If-None-Match %q; want one conditional request", after-before, inm[len(inm)-1])
	}
	if !strings.Contains(b.stderr(), "purges may have been missed") {
		t.Errorf("b did not log why it revalidates:\n%s", b.stderr())
	}
}
