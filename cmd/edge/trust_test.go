package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip/trust"
)

// TestReplayAndScope: the attack of the issue, on a node process. After
// v2, v1's signed request submitted again is refused (409), and so is v1's
// manifest alone from the node's history (403: no statement); a key
// trusted for the blog alone cannot deploy, roll back or remove the site
// (403); what serves is v2 throughout. `edge keys` shows each key's scope.
func TestReplayAndScope(t *testing.T) {
	keys := t.TempDir()
	for _, k := range []string{"admin", "ci"} {
		if out, code := edgeCLI(t, "keygen", "--out", filepath.Join(keys, k)); code != 0 {
			t.Fatalf("keygen: %d %s", code, out)
		}
	}
	data := t.TempDir()
	node := startNode(t, data, "--trust-key", filepath.Join(keys, "admin.pub"), "--trust-key", filepath.Join(keys, "ci.pub")+":blog,docs-*")
	tok := token(t, data)
	out, code := edgeCLI(t, "keys", "--node", node.banner.admin, "--data", data)
	if code != 0 || !regexp.MustCompile(`(?m)^[0-9a-f]{16}\s+ci\.pub\s+blog,docs-\*$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^[0-9a-f]{16}\s+admin\.pub\s+\(all\)$`).MatchString(out) {
		t.Errorf("edge keys does not show each key's scope: %d\n%s", code, out)
	}
	admin, _ := trust.ReadPrivateKey(filepath.Join(keys, "admin.key"))

	files := map[string]string{"edge.toml": staticToml, "public/index.html": "<html>page one</html>"}
	v1 := ordered(t, node, tok, signedWith(upload(t, node, tok, files), admin), admin)
	if status, body := callAPI(t, node, tok, "POST", "/v1/apps/site/versions", v1); status != 201 {
		t.Fatalf("v1: %d %s", status, body)
	}
	files["public/index.html"] = "<html>page two</html>"
	v2 := ordered(t, node, tok, signedWith(upload(t, node, tok, files), admin), admin)
	if status, body := callAPI(t, node, tok, "POST", "/v1/apps/site/versions", v2); status != 201 {
		t.Fatalf("v2: %d %s", status, body)
	}
	if status, body := callAPI(t, node, tok, "POST", "/v1/apps/site/versions", v1); status != 409 || !strings.Contains(body, "stale_seq") {
		t.Errorf("v1's request replayed: %d %s, want 409", status, body)
	}
	_, hist := callAPI(t, node, tok, "GET", "/v1/apps/site/versions", nil)
	var h cache.AppVersions
	if err := json.Unmarshal([]byte(hist), &h); err != nil || len(h.Versions) != 2 {
		t.Fatalf("history: %v %s", err, hist)
	}
	old := *h.Versions[0]
	old.Version = 0
	if status, body := callAPI(t, node, tok, "POST", "/v1/apps/site/versions", &old); status != 403 || !strings.Contains(body, "not signed") {
		t.Errorf("v1's manifest from the history resubmitted: %d %s, want 403", status, body)
	}
	if status, body := callAPI(t, node, tok, "DELETE", "/v1/apps/site", map[string]any{}); status != 403 {
		t.Errorf("unsigned removal: %d %s, want 403", status, body)
	}
	if status, body := callAPI(t, node, tok, "POST", "/v1/apps/site/activate", map[string]any{"version": 1}); status != 403 {
		t.Errorf("unsigned rollback: %d %s, want 403", status, body)
	}

	ci := []string{"--node", node.banner.admin, "--data", data, "--key", filepath.Join(keys, "ci.key")}
	dir := site(t, t.TempDir(), "ci", nil)
	for _, args := range [][]string{{"deploy", dir}, {"rollback", "site"}, {"app", "rm", "site"}} {
		if out, code := edgeCLI(t, append(args, ci...)...); code == 0 || !strings.Contains(out, "403") || !strings.Contains(out, "not trusted for this app") {
			t.Errorf("edge %s with the blog's key: exit %d\n%s", args[0], code, out)
		}
	}
	if status, body := page(t, node, "/"); status != 200 || body != "<html>page two</html>" {
		t.Errorf("after the refused changes: %d %q, want v2", status, body)
	}
	// The admin key rolls back, signed: the only way back.
	if out, code := edgeCLI(t, "rollback", "site", "--node", node.banner.admin, "--data", data, "--key", filepath.Join(keys, "admin.key")); code != 0 || !strings.Contains(out, "site is at v1") {
		t.Errorf("signed rollback: %d\n%s", code, out)
	}
}
