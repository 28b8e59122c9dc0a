package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReloadTrustKeysOnSIGHUP: the attack is a key the operator revoked
// by editing the --trust-key file that still deploys until a restart.
// With a real node process: a key added to the file after start is
// refused, then accepted once SIGHUP reloads the file; a key removed from
// it is refused after the next SIGHUP; a scope added to a line is in
// force; a file that no longer parses keeps the keys as they were; and
// each reload says what it now trusts.
func TestReloadTrustKeysOnSIGHUP(t *testing.T) {
	keys := t.TempDir()
	pubs := map[string]string{}
	for _, k := range []string{"admin", "ci"} {
		if out, code := edgeCLI(t, "keygen", "--out", filepath.Join(keys, k)); code != 0 {
			t.Fatalf("keygen: %d %s", code, out)
		}
		b, err := os.ReadFile(filepath.Join(keys, k+".pub"))
		if err != nil {
			t.Fatal(err)
		}
		pubs[k] = strings.TrimSpace(string(b))
	}
	ring := filepath.Join(keys, "ring.pub")
	writeRing := func(lines ...string) {
		t.Helper()
		if err := os.WriteFile(ring, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reloads := 0
	hup := func(p *process) {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		reloads++
		p.waitLogCount(t, "msg=reloaded", reloads)
	}
	writeRing(pubs["admin"])
	data := t.TempDir()
	node := startNode(t, data, "--trust-key", ring)
	ci, admin := filepath.Join(keys, "ci.key"), filepath.Join(keys, "admin.key")

	if out, code := deployTo(t, node, data, site(t, t.TempDir(), "one", nil), "--key", ci); code == 0 || !strings.Contains(out, "does not trust") {
		t.Fatalf("ci's key before it is in the file: exit %d\n%s", code, out)
	}
	writeRing("# deploy keys", pubs["admin"], pubs["ci"])
	hup(node)
	if !strings.Contains(node.stderr(), `trust_keys="2 (ring.pub:*, ring.pub:*)"`) {
		t.Errorf("the reload does not say which keys it trusts now:\n%s", node.stderr())
	}
	mustDeploy(t, node, data, site(t, t.TempDir(), "two", nil), 1, "--key", ci)

	// admin revoked; ci kept for the blog alone.
	writeRing(pubs["ci"] + " apps=blog")
	hup(node)
	if !strings.Contains(node.stderr(), `trust_keys="1 (ring.pub:blog)"`) {
		t.Errorf("the second reload does not say which keys it trusts now:\n%s", node.stderr())
	}
	if out, code := deployTo(t, node, data, site(t, t.TempDir(), "three", nil), "--key", admin); code == 0 || !strings.Contains(out, "does not trust") {
		t.Errorf("the removed key still deploys: exit %d\n%s", code, out)
	}
	if out, code := deployTo(t, node, data, site(t, t.TempDir(), "four", nil), "--key", ci); code == 0 || !strings.Contains(out, "not trusted for this app") {
		t.Errorf("ci's key, now limited to the blog, deploys the site: exit %d\n%s", code, out)
	}

	// A broken file: the keys in force stay.
	writeRing(pubs["admin"], "garbage")
	hup(node)
	if !strings.Contains(node.stderr(), "trusted keys kept as they were") || !strings.Contains(node.stderr(), "line 2") {
		t.Errorf("a broken key file was not reported:\n%s", node.stderr())
	}
	if out, code := deployTo(t, node, data, site(t, t.TempDir(), "five", nil), "--key", admin); code == 0 {
		t.Errorf("a broken key file put its valid line in force: exit %d\n%s", code, out)
	}
	if status, body := page(t, node, "/"); status != 200 || body != "<html>page two</html>" {
		t.Errorf("what serves: %d %q, want ci's deploy", status, body)
	}
	node.stop(t)
}

// waitLogCount waits until the node has logged s at least n times.
func (p *process) waitLogCount(t *testing.T, s string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(p.stderr(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("node logged %q fewer than %d times:\n%s", s, n, p.stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
