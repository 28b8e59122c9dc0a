package main

import (
	"cmp"
	"encoding/json"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
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

// Gossip ports of mesh test nodes. A node process binds its gossip port
// itself (TCP and UDP on one number) and must find it again when it
// restarts, since the mesh knows a member by name and address; so the
// test chooses the port, and cannot hand the node a bound listener.
// Probing a free port and closing it would leave a window for another
// process to take it. Instead each node has a loopback address of its
// own (127.0.0.x), its port is drawn below the kernel's ephemeral range
// (Linux 32768–60999, macOS and Windows from 49152), which port-0 binds
// and outgoing connections never take, and a start that fails with
// EADDRINUSE (another test run drew the same port) is retried on another.
const gossipPortMin, gossipPortMax = 20000, 32768

// needLoopback skips the test where ip is not a loopback address this
// machine can bind (127.0.0.2 and up are not, by default, on macOS).
func needLoopback(t testing.TB, ip string) {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("loopback %s unusable: %v", ip, err)
	}
	ln.Close()
}

// meshKit is what the nodes of one test mesh share.
type meshKit struct {
	dir, ciKey, ciPub, gossipKey string
	baseHost                     string // the base app's host ("": base.test)
}

func newMeshKit(t testing.TB) meshKit {
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
	name, data, gossip string
	args               []string
}

// start starts node name on ip, joining join unless empty, with the gossip
// key file key (default: the kit's), on a gossip port of its own.
func (k meshKit) start(t testing.TB, name, ip, join, key string, extra ...string) *meshNode {
	t.Helper()
	needLoopback(t, ip)
	base := k.baseApp(t, name)
	if key == "" {
		key = k.gossipKey
	}
	n := &meshNode{name: name, data: filepath.Join(k.dir, "data-"+name)}
	for attempt := 1; ; attempt++ {
		n.draw(ip, base, join, key, k.ciPub, extra)
		p, err := tryStartNode(t, n.data, n.args...)
		if err == nil {
			n.process = p
			return n
		}
		if !strings.Contains(p.stderr(), "address already in use") || attempt == 10 {
			t.Fatalf("node %s: %v\n%s", name, err, p.stderr())
		}
		t.Logf("node %s: gossip address %s taken, drawing another port", name, n.gossip)
	}
}

// baseApp is the --app directory of node name: a static app of its own.
func (k meshKit) baseApp(t testing.TB, name string) string {
	t.Helper()
	base := filepath.Join(k.dir, "base-"+name)
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(base, "edge.toml"), []byte("name = \"base\"\nhosts = [\""+cmp.Or(k.baseHost, "base.test")+"\"]\n[[routes]]\npath = \"/...\"\nstatic = \".\"\n"), 0o644)
	return base
}

// draw gives n a gossip port drawn at random on ip and the flags of a
// mesh test node.
func (n *meshNode) draw(ip, base, join, key, ciPub string, extra []string) {
	n.gossip = net.JoinHostPort(ip, strconv.Itoa(gossipPortMin+rand.IntN(gossipPortMax-gossipPortMin)))
	n.args = append([]string{"--http", ip + ":0", "--admin", ip + ":0", "--https", "", "--app", base,
		"--node-name", n.name, "--region", "r1", "--gossip", n.gossip, "--gossip-key", key, "--trust-key", ciPub}, extra...)
	if join != "" {
		n.args = append(n.args, "--join", join)
	}
}

// tryStartNode is startNode for a node that may fail to start: it
// returns the exited process, its log read to the end, with the error.
func tryStartNode(t testing.TB, data string, args ...string) (*process, error) {
	t.Helper()
	p, stdout := spawnNode(t, data, args...)
	b, err := scanBanner(stdout)
	if err != nil {
		<-p.logged
		p.kill()
		return p, err
	}
	p.banner = b
	return p, nil
}

// restart starts the node again on the same addresses: the mesh knows
// it by its gossip address.
func (n *meshNode) restart(t *testing.T) {
	n.process = startNode(t, n.data, n.args...)
}

func (k meshKit) deploy(t testing.TB, n *meshNode, dir string, args ...string) string {
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
	// a logs at debug level, memberlist's lines too: the last step
	// waits for a's refusal of a stranger.
	a := k.start(t, "a", "127.0.0.2", "", "", "--log-level", "debug")
	b := k.start(t, "b", "127.0.0.3", a.gossip, "")
	c := k.start(t, "c", "127.0.0.4", a.gossip, "")
	dir := meshSite(t, t.TempDir(), "one")
	if out := k.deploy(t, a, dir); !strings.Contains(out, "deployed site v1") || !strings.Contains(out, "converged on 3/3 nodes") {
		t.Fatalf("deploy to a:\n%s", out)
	}
	waitServing(t, c, "one")

	meshSite(t, dir, "two")
	k.deploy(t, a, dir)
	waitServing(t, b, "two")
	out, code := edgeCLI(t, "rollback", "site", "--node", b.banner.admin, "--data", b.data, "--key", k.ciKey)
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
	// d joins at start, before it prints its banner: it sends its
	// push/pull state, and a, unable to decrypt it, logs so and merges
	// nothing. Wait for both ends to have logged the refusal before
	// asking a for its members, so that the answer is not early.
	d := k.start(t, "d", "127.0.0.5", a.gossip, other+".gossip")
	d.waitLog(t, "join failed")
	a.waitLogLine(t, "failed to receive", "could decrypt") // d is the only stranger
	out, code = edgeCLI(t, "members", "--json", "--node", a.banner.admin, "--data", a.data)
	mb = api.Members{}
	if err := json.Unmarshal([]byte(out), &mb); code != 0 || err != nil {
		t.Fatalf("edge members --json: %d %v\n%s", code, err, out)
	}
	for _, m := range mb.Members {
		if m.Name == "d" {
			t.Errorf("a node with another gossip key joined:\n%s", out)
		}
	}
}

// waitLogLine waits until one line of the node's log contains every one
// of parts.
func (p *process) waitLogLine(t *testing.T, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, line := range strings.Split(p.stderr(), "\n") {
			if containsAll(line, parts) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node never logged a line with %q:\n%s", parts, p.stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
