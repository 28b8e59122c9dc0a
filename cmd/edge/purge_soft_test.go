package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// gatedOrigin serves /doc with an ETag and Surrogate-Key; while its gate
// is shut it holds every conditional request (a revalidation) and counts
// them.
type gatedOrigin struct {
	mu            sync.Mutex
	gate          chan struct{}
	revalidations int
	full          int
}

func (o *gatedOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=600")
	w.Header().Set("ETag", `"e1"`)
	w.Header().Set("Surrogate-Key", "docs")
	o.mu.Lock()
	if r.Header.Get("If-None-Match") != `"e1"` {
		o.full++
		o.mu.Unlock()
		_, _ = io.WriteString(w, "doc e1")
		return
	}
	o.revalidations++
	gate := o.gate
	o.mu.Unlock()
	<-gate
	w.WriteHeader(http.StatusNotModified)
}

// shut holds revalidations from now on; the returned func lets them go.
func (o *gatedOrigin) shut() func() {
	o.mu.Lock()
	defer o.mu.Unlock()
	g := make(chan struct{})
	o.gate = g
	var once sync.Once
	return func() { once.Do(func() { close(g) }) }
}

func (o *gatedOrigin) counts() (full, revalidations int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.full, o.revalidations
}

// TestMeshSoftPurgeProcesses: a soft purge by tag, signed and issued on
// one of three node processes, reaches all three; on each, the first
// request after it starts one revalidation (held at the origin), 100
// concurrent requests then get the stale copy at once, the origin sees
// that one revalidation only, and once it lands the node serves the
// revalidated copy as a HIT.
func TestMeshSoftPurgeProcesses(t *testing.T) {
	origin := &gatedOrigin{gate: make(chan struct{})}
	close(origin.gate)
	srv := httptest.NewServer(origin)
	defer srv.Close()
	app := originApp(t, srv.URL)
	k := newMeshKit(t)
	a := k.start(t, "a", "127.0.0.2", "", "", "--app", app)
	b := k.start(t, "b", "127.0.0.3", a.gossip, "", "--app", app)
	c := k.start(t, "c", "127.0.0.4", a.gossip, "", "--app", app)
	nodes := []*meshNode{a, b, c}
	waitMembers(t, nodes, 3)
	for _, n := range nodes {
		cdnDoc(t, n)
		if body, xc := cdnDoc(t, n); body != "doc e1" || xc != "HIT" {
			t.Fatalf("%s before the purge: %q %s", n.name, body, xc)
		}
	}
	out, code := edgeCLI(t, "purge", "--app", "cdn", "--key", k.ciKey, "--node", b.banner.admin, "--data", b.data, "--tag", "docs", "--soft")
	if code != 0 || !strings.Contains(out, "delivered to 3 node(s)") {
		t.Fatalf("edge purge --tag docs --soft: %d\n%s", code, out)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 100}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	for i, n := range nodes {
		// The purge reaches the others within a moment: wait until this
		// node answers STALE, its one revalidation held at the origin.
		release := origin.shut()
		deadline := time.Now().Add(20 * time.Second)
		for xcache(t, cl, n) != "STALE" {
			if time.Now().After(deadline) {
				t.Fatalf("%s still serves HIT after the soft purge", n.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := map[string]int{}
		for range 100 {
			wg.Go(func() {
				xc := xcache(t, cl, n)
				mu.Lock()
				got[xc]++
				mu.Unlock()
			})
		}
		wg.Wait()
		release()
		if got["STALE"] != 100 {
			t.Errorf("%s: 100 concurrent requests after the soft purge got %v, want 100 STALE", n.name, got)
		}
		deadline = time.Now().Add(20 * time.Second)
		for xcache(t, cl, n) != "HIT" {
			if time.Now().After(deadline) {
				t.Fatalf("%s: never HIT again after its revalidation", n.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if full, reval := origin.counts(); full != 3 || reval != i+1 {
			t.Errorf("after %s: origin saw %d full fetches and %d revalidations, want 3 and %d", n.name, full, reval, i+1)
		}
	}
}

// xcache GETs /doc for cdn.test from n and returns X-Cache, after
// checking the body is the object.
func xcache(t *testing.T, cl *http.Client, n *meshNode) string {
	t.Helper()
	req, _ := http.NewRequest("GET", n.banner.http+"/doc", nil)
	req.Host = "cdn.test"
	resp, err := cl.Do(req)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "doc e1" {
		t.Errorf("%s /doc = %d %q", n.name, resp.StatusCode, body)
	}
	return resp.Header.Get("X-Cache")
}
