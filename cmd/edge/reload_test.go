package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReloadOnSIGHUP: a running node re-reads its --app directory and
// its config file's log_level on SIGHUP, says what it reloaded, and a
// broken app directory leaves it serving what it had.
func TestReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("site/edge.toml", "name = \"site\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\n")
	write("site/public/index.html", "first")
	write("edge.conf", "log_level = \"info\"\n")
	p := startNode(t, t.TempDir(), "--config", filepath.Join(dir, "edge.conf"), "--app", filepath.Join(dir, "site"))
	fetch := func() string {
		t.Helper()
		resp, err := http.Get(p.banner.http + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := fetch(); got != "first" {
		t.Fatalf("before the reload: %q", got)
	}
	write("site/public/index.html", "second")
	write("edge.conf", "log_level = \"debug\"\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "msg=reloaded")
	if got := fetch(); got != "second" {
		t.Errorf("after SIGHUP the node serves %q, want the edited file", got)
	}
	if !strings.Contains(p.stderr(), "log_level=DEBUG") {
		t.Errorf("the reload did not say it changed the log level:\n%s", p.stderr())
	}
	write("site/edge.toml", "name = \"site\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nstatic = \"missing\"\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "apps kept as they were")
	if got := fetch(); got != "second" {
		t.Errorf("after a failed reload the node serves %q, want what it had", got)
	}
	p.stop(t)
}
