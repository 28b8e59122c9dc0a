package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/ops/api"
)

// TestMeshPurgeProcesses: three node processes cache an origin's objects;
// a purge by URL, by prefix and by tag, each issued on a different node,
// makes all three fetch from the origin again.
func TestMeshPurgeProcesses(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Surrogate-Key", "all")
		_, _ = io.WriteString(w, "object "+r.URL.Path)
	}))
	defer origin.Close()
	app := originApp(t, origin.URL)
	k := newMeshKit(t)
	a := k.start(t, "a", "127.0.0.2", "", "", "--app", app)
	b := k.start(t, "b", "127.0.0.3", a.gossip, "", "--app", app)
	c := k.start(t, "c", "127.0.0.4", a.gossip, "", "--app", app)
	nodes := []*meshNode{a, b, c}
	waitMembers(t, nodes, 3)
	for _, step := range []struct {
		on   *meshNode
		args []string
		path string
	}{
		{a, []string{"http://cdn.test/doc"}, "/doc"},
		{b, []string{"--prefix", "http://cdn.test/img/"}, "/img/1"},
		{c, []string{"--tag", "all"}, "/doc"},
	} {
		for _, n := range nodes {
			cdnGet(t, n, step.path)
			if got := cdnGet(t, n, step.path); got != "HIT" {
				t.Fatalf("%s %s: X-Cache %q before the purge, want HIT", n.name, step.path, got)
			}
		}
		out, code := edgeCLI(t, append([]string{"purge", "--app", "cdn", "--key", k.ciKey, "--node", step.on.banner.admin, "--data", step.on.data}, step.args...)...)
		if code != 0 || !strings.Contains(out, "delivered to 3 node(s)") {
			t.Fatalf("edge purge %v: %d\n%s", step.args, code, out)
		}
		for _, n := range nodes {
			deadline := time.Now().Add(20 * time.Second)
			for cdnGet(t, n, step.path) != "MISS" {
				if time.Now().After(deadline) {
					t.Fatalf("after edge purge %v on %s, %s still serves %s from its cache", step.args, step.on.name, n.name, step.path)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}

// cdnGet fetches path for host cdn.test from n and returns X-Cache.
func cdnGet(t *testing.T, n *meshNode, path string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", n.banner.http+path, nil)
	req.Host = "cdn.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "object "+path {
		t.Fatalf("%s %s = %d %q", n.name, path, resp.StatusCode, body)
	}
	return resp.Header.Get("X-Cache")
}

// waitMembers waits until every node lists want alive members.
func waitMembers(t *testing.T, nodes []*meshNode, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range nodes {
		for {
			out, code := edgeCLI(t, "members", "--json", "--node", n.banner.admin, "--data", n.data)
			var mb api.Members
			if code == 0 && json.Unmarshal([]byte(out), &mb) == nil && len(mb.Members) == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s does not see %d members:\n%s", n.name, want, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// originApp writes an app "cdn" (host cdn.test) whose one route sends
// everything to origin, and returns its directory.
func originApp(t *testing.T, origin string) string {
	t.Helper()
	app := t.TempDir()
	toml := fmt.Sprintf("name = \"cdn\"\nhosts = [\"cdn.test\"]\n[[routes]]\npath = \"/...\"\norigin = %q\n", origin)
	if err := os.WriteFile(filepath.Join(app, "edge.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	return app
}
