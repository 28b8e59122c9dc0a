package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestMeshSharesArtifacts: three node processes; a deploy to a compiles
// the module there. b runs with --trust-peer-artifacts and loads the
// artifact a member compiled instead of compiling; c, without the flag,
// never asks and compiles it itself. Both serve the new version.
func TestMeshSharesArtifacts(t *testing.T) {
	k := newMeshKit(t)
	a := k.start(t, "a", "127.0.0.2", "", "")
	b := k.start(t, "b", "127.0.0.3", a.gossip, "", "--trust-peer-artifacts", "--log-level", "debug")
	c := k.start(t, "c", "127.0.0.4", a.gossip, "", "--log-level", "debug")
	dir := meshSite(t, t.TempDir(), "shared")
	if out := k.deploy(t, a, dir); !strings.Contains(out, "converged on 3/3 nodes") {
		t.Fatalf("deploy to a:\n%s", out)
	}
	waitServing(t, b, "shared")
	waitServing(t, c, "shared")
	b.waitLogLine(t, "loaded module from a peer's artifact", "module=bin/hello.wasm")
	if strings.Contains(b.stderr(), "compiled module") {
		t.Errorf("b compiled the module although a peer had it:\n%s", b.stderr())
	}
	c.waitLogLine(t, "compiled module", "module=bin/hello.wasm")
	if strings.Contains(c.stderr(), "peer's artifact") || strings.Contains(c.stderr(), "no peer artifact") {
		t.Errorf("c, without --trust-peer-artifacts, asked its peers:\n%s", c.stderr())
	}
}

// goSite writes an app serving the Go hello guest, whose bytes differ per
// marker (a custom section), so that every deploy compiles it anew.
func goSite(b *testing.B, dir, marker string) string {
	wasm, err := os.ReadFile("../../modules/examples/demo/hello-go.wasm")
	if err != nil {
		b.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"edge.toml":         []byte("name = \"go\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/go\"\nmodule = \"bin/hello-go.wasm\"\n"),
		"bin/hello-go.wasm": withCustomSection(wasm, marker),
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkMeshDeployGoGuest: deploy-to-all time of a fresh Go guest on
// two meshes of three node processes, side by side in the same run: in
// one, b and c run with --trust-peer-artifacts and load the artifact a
// compiled; in the other every node compiles. Each iteration deploys to
// both (alternating which goes first) and times `edge deploy --wait` from
// start to "converged on 3/3 nodes": upload, compile on a, then fetch and
// compile or load on b and c. Medians, and the ratio shared/compiled.
//
//	go test -run '^$' -bench MeshDeployGoGuest -benchtime 3x ./cmd/edge/
func BenchmarkMeshDeployGoGuest(b *testing.B) {
	k := newMeshKit(b)
	type mesh struct {
		name  string
		nodes []*meshNode
		took  []time.Duration
	}
	start := func(name string, ips []string, extra ...string) *mesh {
		a := k.start(b, name+"-a", ips[0], "", "")
		return &mesh{name: name, nodes: []*meshNode{a,
			k.start(b, name+"-b", ips[1], a.gossip, "", extra...),
			k.start(b, name+"-c", ips[2], a.gossip, "", extra...)}}
	}
	shared := start("shared", []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, "--trust-peer-artifacts")
	compiled := start("compiled", []string{"127.0.0.5", "127.0.0.6", "127.0.0.7"})
	b.ResetTimer()
	for i := range b.N {
		order := []*mesh{shared, compiled}
		if i%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, m := range order {
			dir := goSite(b, b.TempDir(), fmt.Sprintf("%s-%d", m.name, i))
			t0 := time.Now()
			if out := k.deploy(b, m.nodes[0], dir, "--wait", "120s"); !strings.Contains(out, "converged on 3/3 nodes") {
				b.Fatalf("%s: %s", m.name, out)
			}
			m.took = append(m.took, time.Since(t0))
		}
	}
	b.StopTimer()
	med := func(d []time.Duration) float64 {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return float64(s[len(s)/2].Microseconds()) / 1000
	}
	b.ReportMetric(med(shared.took), "shared-ms")
	b.ReportMetric(med(compiled.took), "compiled-ms")
	b.ReportMetric(med(shared.took)/med(compiled.took), "shared/compiled")
	for _, n := range shared.nodes[1:] {
		if !strings.Contains(n.stderr(), "loaded module from a peer's artifact") {
			b.Errorf("%s never loaded a peer's artifact:\n%s", n.name, n.stderr())
		}
	}
}
