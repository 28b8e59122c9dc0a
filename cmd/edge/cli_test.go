package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIConventions: help exits 0 and shows a command's arguments, usage
// errors exit 2 and say what was wrong, --version is `edge version`.
func TestCLIConventions(t *testing.T) {
	version, code := edgeCLI(t, "version")
	if code != 0 || !strings.HasPrefix(version, "edge ") {
		t.Fatalf("edge version: exit %d %q", code, version)
	}
	cases := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"--help"}, 0, []string{"deploy", "serve", "completion"}},
		{[]string{"help", "deploy"}, 0, []string{"edge deploy DIR"}},
		{[]string{"serve", "--help"}, 0, []string{"--app", `(default "127.0.0.1:8080")`, "(default 64)"}},
		{[]string{"deploy", "--help"}, 0, []string{"edge deploy DIR", "--json", "--node", "embedded demo"}},
		{[]string{"--version"}, 0, []string{version}},
		{[]string{"completion", "bash"}, 0, []string{"bash completion"}},
		{[]string{"deploy"}, 2, []string{"wants DIR"}},
		{[]string{"deploy", "a", "b"}, 2, []string{"wants DIR"}},
		{[]string{"nosuch"}, 2, []string{`unknown command "nosuch"`}},
		{[]string{"deploy", "--nosuch", "x"}, 2, []string{"unknown flag: --nosuch"}},
		{[]string{"serve", "extra"}, 2, []string{"--app DIR"}},
		{[]string{"keygen"}, 2, []string{"--out NAME"}},
		{[]string{"app"}, 2, []string{"history, rm"}},
		{[]string{"cache", "nosuch"}, 2, []string{`unknown command "nosuch"`, "gc, stats, verify"}},
		{[]string{"app", "--help"}, 0, []string{"history", "rm"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, code := edgeCLI(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d:\n%s", code, c.code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not mention %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "(0: default)") {
				t.Errorf("a default shows as 0:\n%s", out)
			}
		})
	}
}

// TestDeployWrongTokenUploadsNothing: a wrong token fails before any
// upload, says what to do, and the node received nothing.
func TestDeployWrongTokenUploadsNothing(t *testing.T) {
	data := t.TempDir()
	node := startNode(t, data)
	out, code := deployTo(t, node, data, site(t, t.TempDir(), "one", nil), "--token", "wrong-token-wrong-token")
	if code != 1 || !strings.Contains(out, "refused the admin token") || !strings.Contains(out, "--token") {
		t.Errorf("deploy with a wrong token: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "uploaded") {
		t.Errorf("deploy with a wrong token reports an upload:\n%s", out)
	}
	if s := deployStats(t, node, data); s.BlobBytes != 0 || s.Deploys != 0 {
		t.Errorf("node received %+v from a deploy with a wrong token", s)
	}
}

// TestDeployJSON: --json prints one parseable result on stdout, which
// says the first deploy replaced the embedded demo; the text output says
// it too, once.
func TestDeployJSON(t *testing.T) {
	data := t.TempDir()
	node := startNode(t, data)
	dir := site(t, t.TempDir(), "one", nil)
	cmd := exec.Command(edgeBinary(t), "deploy", dir, "--node", node.banner.admin, "--data", data, "--json")
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("deploy --json: %v\n%s", err, stdout)
	}
	var res deployOutput
	if err := json.Unmarshal(stdout, &res); err != nil {
		t.Fatalf("deploy --json output does not parse: %v\n%s", err, stdout)
	}
	if res.App != "site" || res.Version != 1 || len(res.URLs) == 0 || res.Files != 3 || res.Uploaded.Files != 3 || !res.ReplacedDemo {
		t.Errorf("deploy --json = %+v", res)
	}
	site(t, dir, "two", nil)
	out := mustDeploy(t, node, data, dir, 2)
	if strings.Contains(out, "embedded demo") || !strings.Contains(out, "uploaded 3 files") {
		t.Errorf("second deploy:\n%s", out)
	}
	site(t, dir, "two", map[string]string{"public/new.txt": "new"})
	if out := mustDeploy(t, node, data, dir, 3); !strings.Contains(out, "uploaded 1 file,") {
		t.Errorf("one new file:\n%s", out)
	}
}

// TestDeployChecksLocally: an edge.toml naming a file that is not there
// is refused before anything is sent, naming the user's own path.
func TestDeployChecksLocally(t *testing.T) {
	data := t.TempDir()
	node := startNode(t, data)
	dir := site(t, t.TempDir(), "one", nil)
	if err := os.Remove(filepath.Join(dir, "bin", "hello.wasm")); err != nil {
		t.Fatal(err)
	}
	out, code := deployTo(t, node, data, dir)
	want := filepath.Join(dir, "edge.toml") + ": routes[0].module"
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, "bin/hello.wasm") || strings.Contains(out, "@new") {
		t.Errorf("deploy of an app missing its module: exit %d, want %q in:\n%s", code, want, out)
	}
	if s := deployStats(t, node, data); s.BlobBytes != 0 || s.Deploys != 0 {
		t.Errorf("node received %+v from an app refused locally", s)
	}
	// A module that is there but does not compile is refused by the node;
	// the error still names the user's path, not the node's name for it.
	if err := os.WriteFile(filepath.Join(dir, "bin", "hello.wasm"), []byte("\x00asm\x01\x00\x00\x00\x01\x05"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = deployTo(t, node, data, dir)
	if code != 1 || !strings.Contains(out, filepath.Join(dir, "edge.toml")) || !strings.Contains(out, "routes[0]") || strings.Contains(out, "@new") {
		t.Errorf("deploy of a module that does not compile: exit %d\n%s", code, out)
	}
	if out, code := edgeCLI(t, "app", "rm", "nosuch", "--node", node.banner.admin, "--data", data); code != 1 || !strings.Contains(out, `no app "nosuch" is deployed`) || strings.Contains(out, "cache:") {
		t.Errorf("app rm of an unknown app: exit %d\n%s", code, out)
	}
}

// TestServeReportsBusyPortBeforeLoading: a node whose port is taken
// fails naming the address, before it compiles anything.
func TestServeReportsBusyPortBeforeLoading(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	for _, flag := range []string{"--http", "--admin"} {
		t.Run(flag, func(t *testing.T) {
			data := t.TempDir()
			args := map[string]string{"--http": "127.0.0.1:0", "--https": "127.0.0.1:0", "--admin": "127.0.0.1:0"}
			args[flag] = addr
			out, code := edgeCLI(t, "serve", "--data", data, "--http", args["--http"], "--https", args["--https"], "--admin", args["--admin"])
			if code != 1 || !strings.Contains(out, addr) || !strings.Contains(out, "address already in use") {
				t.Errorf("serve on a busy port: exit %d\n%s", code, out)
			}
			if strings.Contains(out, "compiled module") || strings.Contains(out, "apps loaded") {
				t.Errorf("node loaded apps before reporting the busy port:\n%s", out)
			}
			if files, _ := filepath.Glob(filepath.Join(data, "artifacts", "*")); len(files) > 0 {
				t.Errorf("node compiled %d artifacts before reporting the busy port", len(files))
			}
		})
	}
}
