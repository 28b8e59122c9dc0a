package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestRestartCompilesNothing restarts a real node process on the same data
// dir: the first start compiles the demo's three modules, the second
// loads all three from the cache and compiles none, then serves.
func TestRestartCompilesNothing(t *testing.T) {
	data := t.TempDir()
	first := startNode(t, data)
	first.stop(t)
	mods := demoModules(t)
	if c, f := first.loadCounts(t); c != mods || f != 0 {
		t.Fatalf("first start: compiled %d, from cache %d; want %d, 0", c, f, mods)
	}
	second := startNode(t, data)
	defer second.stop(t)
	if c, f := second.loadCounts(t); c != 0 || f != mods {
		t.Fatalf("restart: compiled %d, from cache %d; want 0, %d", c, f, mods)
	}
	c := protocolClients(t, second.banner.ca)["HTTP/2.0"]
	if status, _, body := fetch(t, c, second.banner.https+"/api/hello-go?name=warm"); status != 200 || !strings.Contains(body, "Hello, warm!") {
		t.Errorf("after a warm restart: %d %q", status, body)
	}
	// Hits are recorded in the background: poll until they show.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, code := edgeCLI(t, "cache", "stats", "--data", data, "--node", second.banner.admin)
		if code == 0 && strings.Contains(out, fmt.Sprintf("hits       %d\n", mods)) && strings.Contains(out, fmt.Sprintf("misses     %d\n", mods)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("edge cache stats through the running node: exit %d\n%s", code, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// demoModules counts the modules of the embedded demo app.
func demoModules(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("../../modules/examples/demo/edge.toml")
	if err != nil {
		t.Fatal(err)
	}
	return len(regexp.MustCompile(`(?m)^module\s*=`).FindAll(b, -1))
}

// flipInBucket flips one byte in the middle of every value of a bucket of a
// stopped node's cache file, as disk damage would.
func flipInBucket(t *testing.T, data, bucket string, pick func(k, v []byte) bool) int {
	t.Helper()
	db, err := bolt.Open(filepath.Join(data, cacheFile), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		type kv struct{ k, v []byte }
		var changed []kv
		_ = b.ForEach(func(k, v []byte) error {
			if pick(k, v) {
				v = bytes.Clone(v)
				v[len(v)/2] ^= 0xff
				changed = append(changed, kv{bytes.Clone(k), v})
			}
			return nil
		})
		for _, c := range changed {
			if err := b.Put(c.k, c.v); err != nil {
				return err
			}
		}
		n = len(changed)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// damageArtifactFiles flips a byte in every artifact file of a data dir.
func damageArtifactFiles(t *testing.T, data string) int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(data, "artifacts", "*.cwasm"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		// Rewrite under a new inode, as damage repaired by a copy would be:
		// the node's own files are never written in place.
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return len(files)
}

// TestDamagedArtifactCopiesHeal damages every artifact in the cache file
// of a stopped node: verify reports them; the next start loads the intact
// artifact files, compiles nothing, and restores the damaged copies, so
// verify is clean again afterwards.
func TestDamagedArtifactCopiesHeal(t *testing.T) {
	data := t.TempDir()
	startNode(t, data).stop(t)
	mods := demoModules(t)
	if n := flipInBucket(t, data, "artifacts", func(_, _ []byte) bool { return true }); n != mods {
		t.Fatalf("damaged %d artifacts, want %d", n, mods)
	}
	out, code := edgeCLI(t, "cache", "verify", "--data", data)
	if code == 0 || strings.Count(out, "BAD artifact") != mods {
		t.Errorf("verify of damaged artifacts: exit %d\n%s", code, out)
	}
	p := startNode(t, data)
	p.stop(t)
	if c, f := p.loadCounts(t); c != 0 || f != mods {
		t.Errorf("with intact files: compiled %d, from cache %d; want 0, %d", c, f, mods)
	}
	if n := strings.Count(p.stderr(), "restored from its artifact file"); n != mods {
		t.Errorf("%d 'restored' log lines, want %d:\n%s", n, mods, p.stderr())
	}
	if out, code := edgeCLI(t, "cache", "verify", "--data", data); code != 0 {
		t.Errorf("verify after healing: exit %d\n%s", code, out)
	}
}

// TestCorruptArtifactsAreRecompiled damages both copies of every artifact
// (the cache file's and the mapped file): the next start detects each,
// recompiles it, and serves.
func TestCorruptArtifactsAreRecompiled(t *testing.T) {
	data := t.TempDir()
	startNode(t, data).stop(t)
	mods := demoModules(t)
	if n := flipInBucket(t, data, "artifacts", func(_, _ []byte) bool { return true }); n != mods {
		t.Fatalf("damaged %d artifacts, want %d", n, mods)
	}
	if n := damageArtifactFiles(t, data); n != mods {
		t.Fatalf("damaged %d artifact files, want %d", n, mods)
	}
	out, code := edgeCLI(t, "cache", "verify", "--data", data)
	if code == 0 || strings.Count(out, "BAD artifact") != mods {
		t.Errorf("verify of damaged artifacts: exit %d\n%s", code, out)
	}
	p := startNode(t, data)
	defer p.stop(t)
	if c, f := p.loadCounts(t); c != mods || f != 0 {
		t.Errorf("after damage: compiled %d, from cache %d; want %d, 0", c, f, mods)
	}
	if n := strings.Count(p.stderr(), "artifact unusable, recompiling"); n != mods {
		t.Errorf("%d 'artifact unusable' log lines, want %d:\n%s", n, mods, p.stderr())
	}
	c := protocolClients(t, p.banner.ca)["HTTP/1.1"]
	if status, _, body := fetch(t, c, p.banner.https+"/api/hello?name=healed"); status != 200 || !strings.Contains(body, "healed") {
		t.Errorf("after recompiling: %d %q", status, body)
	}
}

// TestCorruptBlobIsRefusedThenHealed damages the stored static page of a
// stopped node: the page is refused with 500 (never served damaged), and
// the next start imports it again from the app and serves it intact.
func TestCorruptBlobIsRefusedThenHealed(t *testing.T) {
	data := t.TempDir()
	startNode(t, data).stop(t)
	page, err := os.ReadFile("../../modules/examples/demo/public/index.html")
	if err != nil {
		t.Fatal(err)
	}
	// The page is small: one chunk, whose stored value is the page plus a
	// 4-byte checksum.
	if n := flipInBucket(t, data, "chunks", func(_, v []byte) bool { return len(v) == len(page)+4 }); n != 1 {
		t.Fatalf("damaged %d chunks, want 1", n)
	}
	if out, code := edgeCLI(t, "cache", "verify", "--data", data); code == 0 || !strings.Contains(out, "BAD") {
		t.Errorf("verify of a damaged blob: exit %d\n%s", code, out)
	}
	p := startNode(t, data)
	plain := &http.Client{}
	if status, _, body := fetch(t, plain, p.banner.http+"/"); status != 500 || strings.Contains(body, "<html") {
		t.Errorf("damaged page: %d %q, want 500 and no page", status, body)
	}
	p.stop(t)
	if !strings.Contains(p.stderr(), "static file unreadable") {
		t.Errorf("no log line for the damaged file:\n%s", p.stderr())
	}
	p = startNode(t, data)
	defer p.stop(t)
	if status, _, body := fetch(t, plain, p.banner.http+"/"); status != 200 || body != string(page) {
		t.Errorf("after restart: %d, %d bytes, want 200 and the page", status, len(body))
	}
}

// crashApp writes an app whose Go module and large static file change on
// every call: a fresh compile-and-store and a fresh import each start.
func crashApp(t *testing.T, dir string, i int) (bigSum string) {
	t.Helper()
	wasm, err := os.ReadFile("../../modules/examples/demo/hello-go.wasm")
	if err != nil {
		t.Fatal(err)
	}
	// A custom section (id 0) named "edge-test" holding i: the module
	// behaves the same, but its digest differs, so it is compiled anew.
	payload := append([]byte("\x09edge-test"), fmt.Sprint(i)...)
	wasm = append(append(wasm, 0, byte(len(payload))), payload...)
	big := make([]byte, 24<<20)
	r := rand.NewChaCha8([32]byte{byte(i), byte(i >> 8)})
	_, _ = r.Read(big)
	sum := sha256.Sum256(big)
	files := map[string][]byte{
		"edge.toml":        []byte("name = \"crash\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/go\"\nmodule = \"go.wasm\"\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\n"),
		"go.wasm":          wasm,
		"public/big.bin":   big,
		"public/index.txt": []byte(fmt.Sprintf("start %d\n", i)),
	}
	for name, b := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return hex.EncodeToString(sum[:])
}

// TestKillNineDuringCompileAndImport kills a node with SIGKILL at random
// moments while it compiles a Go module and imports a 24 MiB file, 20
// times over a few data dirs. After every kill the cache file opens and
// `edge cache verify` is clean; finally each node serves the current
// files intact.
func TestKillNineDuringCompileAndImport(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts 20 node processes")
	}
	app := t.TempDir()
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	rng := killRand(t)
	var sum string
	stages := map[string]int{}
	for i := 0; i < 20; i++ {
		sum = crashApp(t, app, i)
		data := dirs[i%len(dirs)]
		p := startNodeAsync(t, data, "--app", app)
		// Even kills land anywhere in the first 1.2 s (mostly the compile);
		// odd ones just after the compile, while the artifact is stored
		// and the 24 MiB file imported.
		delay := time.Duration(rng.IntN(1200)) * time.Millisecond
		if i%2 == 1 {
			p.waitLog(t, "compiled module")
			delay = time.Duration(rng.IntN(150)) * time.Millisecond
		}
		time.Sleep(delay)
		p.kill()
		stage := p.stage()
		// A kill on a fresh data dir can land before the node has even
		// created its cache file: nothing was stored, so nothing to verify.
		if _, err := os.Stat(filepath.Join(data, "edge.db")); errors.Is(err, fs.ErrNotExist) {
			stage = "before the cache file existed"
		}
		stages[stage]++
		t.Logf("kill %2d: %s (+%v, data dir %d)", i+1, stage, delay, i%len(dirs))
		if stage == "before the cache file existed" {
			continue
		}
		if out, code := edgeCLI(t, "cache", "verify", "--data", data); code != 0 {
			t.Fatalf("verify after kill %d at %v: exit %d\n%s", i+1, delay, code, out)
		}
	}
	t.Logf("kills by stage: %v", stages)
	if stages["compiling"] == 0 || stages["storing and importing"] == 0 {
		t.Errorf("kills by stage %v: want some while compiling and some while storing and importing", stages)
	}
	for i, data := range dirs {
		p := startNode(t, data, "--app", app)
		status, _, body := fetch(t, &http.Client{}, p.banner.http+"/big.bin")
		got := sha256.Sum256([]byte(body))
		if status != 200 || hex.EncodeToString(got[:]) != sum {
			t.Errorf("data dir %d: big.bin = %d, sha256 %x, want the current file", i, status, got)
		}
		if status, _, body := fetch(t, &http.Client{}, p.banner.http+"/go?name=after"); status != 200 || !strings.Contains(body, "after") {
			t.Errorf("data dir %d: /go = %d %q", i, status, body)
		}
		p.stop(t)
	}
}
