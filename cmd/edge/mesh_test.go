package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/ops/api"
)

// meshSite is site() answering on any host: mesh nodes listen on
// distinct loopback addresses.
func meshSite(t *testing.T, dir, marker string) string {
	return site(t, dir, marker, map[string]string{"edge.toml": `name = "site"
hosts = ["*"]
[[routes]]
path = "/dyn"
module = "bin/hello.wasm"
env = { GREETING = "` + marker + `" }
[[routes]]
path = "/..."
static = "public"
`})
}

// gossipPort finds a port free for TCP and UDP on ip.
func gossipPort(t *testing.T, ip string) string {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Skipf("loopback %s unusable: %v", ip, err)
		}
		addr := ln.Addr().String()
		pc, err := net.ListenPacket("udp", addr)
		ln.Close()
		if err == nil {
			pc.Close()
			return addr
		}
	}
	t.Fatal("no free gossip port")
	return ""
}

// meshKit is what the nodes of one test mesh share.
type meshKit struct {
	dir, ciKey, ciPub, gossipKey string
}

func newMeshKit(t *testing.T) meshKit {
	dir := t.TempDir()
	k := meshKit{dir: dir, ciKey: filepath.Join(dir, "ci.key"), ciPub: filepath.Join(dir, "ci.pub"), gossipKey: filepath.Join(dir, "mesh.gossip")}
	if out, code := edgeCLI(t, "keygen", "--out", filepath.Join(dir, "ci")); code != 0 {
		t.Fatal(out)
	}
	if out, code := edgeCLI(t, "keygen", "--gossip", "--out", filepath.Join(dir, "mesh")); code != 0 {
		t.Fatal(out)
	}
	return k
}

// meshNode is a node process of a mesh with its flags, to restart it.
type meshNode struct {
	*process
	name, data string
	args       []string
}

func (k meshKit) start(t *testing.T, name, ip, gossipAddr string, join string, key string) *meshNode {
	t.Helper()
	base := filepath.Join(k.dir, "base-"+name)
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(base, "edge.toml"), []byte("name = \"base\"\nhosts = [\"base.test\"]\n[[routes]]\npath = \"/...\"\nstatic = \".\"\n"), 0o644)
	if key == "" {
		key = k.gossipKey
	}
	args := []string{"--http", ip + ":0", "--admin", ip + ":0", "--https", "", "--app", base,
		"--node-name", name, "--region", "r1", "--gossip", gossipAddr, "--gossip-key", key, "--trust-key", k.ciPub}
	if join != "" {
		args = append(args, "--join", join)
	}
	n := &meshNode{name: name, data: filepath.Join(k.dir, "data-"+name), args: args}
	n.process = startNode(t, n.data, args...)
	return n
}

func (n *meshNode) restart(t *testing.T) {
	n.process = startNode(t, n.data, n.args...)
}

func (k meshKit) deploy(t *testing.T, n *meshNode, dir string, args ...string) string {
	t.Helper()
	out, code := edgeCLI(t, append([]string{"deploy", dir, "--node", n.banner.admin, "--data", n.data, "--key", k.ciKey}, args...)...)
	if code != 0 {
		t.Fatalf("edge deploy on %s: exit %d\n%s\n%s", n.name, code, out, n.stderr())
	}
	return out
}

func waitServing(t *testing.T, n *meshNode, marker string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, body := page(t, n.process, "/")
		if status == 200 && body == "<html>page "+marker+"</html>" {
			wantServing(t, n.process, marker)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s serves %d %q, want %s\n%s", n.name, status, body, marker, n.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMeshProcesses: three node processes on 127.0.0.2-4. A deploy to A is
// served by C; a rollback on B reaches A and C; a node killed during two
// deploys catches up when restarted; a node with another gossip key
// cannot join.
func TestMeshProcesses(t *testing.T) {
	k := newMeshKit(t)
	ga := gossipPort(t, "127.0.0.2")
	a := k.start(t, "a", "127.0.0.2", ga, "", "")
	b := k.start(t, "b", "127.0.0.3", gossipPort(t, "127.0.0.3"), ga, "")
	c := k.start(t, "c", "127.0.0.4", gossipPort(t, "127.0.0.4"), ga, "")
	dir := meshSite(t, t.TempDir(), "one")
	if out := k.deploy(t, a, dir); !strings.Contains(out, "deployed site v1") || !strings.Contains(out, "converged on 3/3 nodes") {
		t.Fatalf("deploy to a:\n%s", out)
	}
	waitServing(t, c, "one")

	meshSite(t, dir, "two")
	k.deploy(t, a, dir)
	waitServing(t, b, "two")
	out, code := edgeCLI(t, "rollback", "site", "--node", b.banner.admin, "--data", b.data)
	if code != 0 || !strings.Contains(out, "site is at v1") || !strings.Contains(out, "converged on 3/3 nodes") {
		t.Fatalf("rollback on b: %d\n%s", code, out)
	}
	waitServing(t, a, "one")
	waitServing(t, c, "one")

	out, code = edgeCLI(t, "members", "--json", "--node", c.banner.admin, "--data", c.data)
	var mb api.Members
	if err := json.Unmarshal([]byte(out), &mb); code != 0 || err != nil || len(mb.Members) != 3 {
		t.Fatalf("edge members --json: %d %v\n%s", code, err, out)
	}
	for _, m := range mb.Members {
		if m.State != "alive" || m.Region != "r1" || m.Arch == "" || len(m.Apps) != 1 || m.Apps[0].Version != 1 || !m.Apps[0].InSync {
			t.Errorf("member %+v", m)
		}
	}
	if out, _ := edgeCLI(t, "members", "--node", a.banner.admin, "--data", a.data); !strings.Contains(out, "site@v1(in sync)") {
		t.Errorf("edge members:\n%s", out)
	}

	c.kill()
	meshSite(t, dir, "three")
	k.deploy(t, a, dir, "--wait", "0")
	meshSite(t, dir, "four")
	if out := k.deploy(t, b, dir, "--wait", "0"); !strings.Contains(out, "deployed site v4") {
		t.Fatalf("deploy to b:\n%s", out)
	}
	c.restart(t)
	waitServing(t, c, "four")

	other := filepath.Join(k.dir, "other")
	if out, code := edgeCLI(t, "keygen", "--gossip", "--out", other); code != 0 {
		t.Fatal(out)
	}
	d := k.start(t, "d", "127.0.0.5", gossipPort(t, "127.0.0.5"), ga, other+".gossip")
	d.waitLog(t, "join failed") // the event, not a fixed sleep: the attempt is over
	out, _ = edgeCLI(t, "members", "--json", "--node", a.banner.admin, "--data", a.data)
	if strings.Contains(out, `"name": "d"`) {
		t.Errorf("a node with another gossip key joined:\n%s", out)
	}
}
