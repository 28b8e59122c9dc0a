package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip/trust"
	"github.com/edgecdn/edge/ops/api"
)

// site writes an app directory: a page, a WAGI route whose greeting and
// module bytes carry marker (so every version compiles its own module),
// and any extra files.
func site(t *testing.T, dir, marker string, extra map[string]string) string {
	t.Helper()
	wasm, err := os.ReadFile("../../modules/examples/demo/hello.wasm")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"edge.toml": `name = "site"
hosts = ["127.0.0.1"]
[[routes]]
path = "/dyn"
module = "bin/hello.wasm"
env = { GREETING = "` + marker + `" }
[[routes]]
path = "/..."
static = "public"
`,
		"public/index.html": "<html>page " + marker + "</html>",
		"bin/hello.wasm":    string(withCustomSection(wasm, marker)),
	}
	for k, v := range extra {
		files[k] = v
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// withCustomSection appends a custom section named name: the module is
// still valid, and its digest is new.
func withCustomSection(wasm []byte, name string) []byte {
	payload := append([]byte{byte(len(name))}, name...)
	out := append(bytes.Clone(wasm), 0, byte(len(payload)))
	return append(out, payload...)
}

// deployTo runs `edge deploy` against node and returns its output and code.
func deployTo(t *testing.T, node *process, data, dir string, args ...string) (string, int) {
	t.Helper()
	return edgeCLI(t, append([]string{"deploy", dir, "--node", node.banner.admin, "--data", data}, args...)...)
}

func mustDeploy(t *testing.T, node *process, data, dir string, wantVersion int, args ...string) string {
	t.Helper()
	out, code := deployTo(t, node, data, dir, args...)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("deployed site v%d", wantVersion)) {
		t.Fatalf("edge deploy: exit %d, want v%d:\n%s\nnode log:\n%s", code, wantVersion, out, node.stderr())
	}
	return out
}

// page fetches path from the node's plain HTTP listener.
func page(t *testing.T, node *process, path string) (int, string) {
	t.Helper()
	status, _, body := fetch(t, http.DefaultClient, node.banner.http+path)
	return status, body
}

// wantServing checks the page and the dynamic route both show marker:
// one whole version, never a mix.
func wantServing(t *testing.T, node *process, marker string) {
	t.Helper()
	if status, body := page(t, node, "/"); status != 200 || body != "<html>page "+marker+"</html>" {
		t.Errorf("GET / = %d %q, want page %s", status, body, marker)
	}
	if status, body := page(t, node, "/dyn?name=x"); status != 200 || !strings.Contains(body, marker+", x!") {
		t.Errorf("GET /dyn = %d %q, want greeting %s", status, body, marker)
	}
}

var uploadedLine = regexp.MustCompile(`uploaded (\d+) files?, (\d+) bytes`)

// TestDeployCycle is the user's loop, all through the CLI against a real
// node process: deploy, serve, change and redeploy, roll back, redeploy
// unchanged (0 bytes), restart, remove.
func TestDeployCycle(t *testing.T) {
	data := t.TempDir()
	node := startNode(t, data)
	dir := site(t, t.TempDir(), "one", nil)
	out := mustDeploy(t, node, data, dir, 1)
	if !strings.Contains(out, node.banner.http[len("http://"):]) {
		t.Errorf("deploy output names no URL on the node's port:\n%s", out)
	}
	wantServing(t, node, "one")

	site(t, dir, "two", nil)
	mustDeploy(t, node, data, dir, 2)
	wantServing(t, node, "two")

	if out, code := edgeCLI(t, "rollback", "site", "--node", node.banner.admin, "--data", data); code != 0 || !strings.Contains(out, "site is at v1") {
		t.Fatalf("edge rollback: exit %d\n%s", code, out)
	}
	wantServing(t, node, "one")

	before := deployStats(t, node, data)
	out = mustDeploy(t, node, data, dir, 3) // unchanged since v2
	if m := uploadedLine.FindStringSubmatch(out); m == nil || m[1] != "0" || m[2] != "0" {
		t.Errorf("unchanged redeploy uploaded something:\n%s", out)
	}
	if after := deployStats(t, node, data); after.BlobBytes != before.BlobBytes || after.Deploys != before.Deploys+1 {
		t.Errorf("node counters: before %+v, after %+v", before, after)
	}
	wantServing(t, node, "two")

	out, code := edgeCLI(t, "app", "history", "site", "--node", node.banner.admin, "--data", data)
	if code != 0 || !regexp.MustCompile(`(?m)^v3 .*active$`).MatchString(out) || !strings.Contains(out, "v1 ") {
		t.Errorf("edge app history: exit %d\n%s", code, out)
	}
	out, code = edgeCLI(t, "rollback", "site", "--to", "1", "--node", node.banner.admin, "--data", data)
	if code != 0 {
		t.Fatalf("rollback --to 1: %d %s", code, out)
	}
	node.stop(t)

	node = startNode(t, data) // the active version survives a restart
	wantServing(t, node, "one")
	if out, code := edgeCLI(t, "apps", "--node", node.banner.admin, "--data", data); code != 0 || !regexp.MustCompile(`site\s+v1\s+3\s+site@v1`).MatchString(out) {
		t.Errorf("edge apps: exit %d\n%s", code, out)
	}
	if out, code := edgeCLI(t, "app", "rm", "site", "--node", node.banner.admin, "--data", data); code != 0 {
		t.Fatalf("edge app rm: %d %s", code, out)
	}
	if status, _ := page(t, node, "/"); status != 404 {
		t.Errorf("after app rm: GET / = %d", status)
	}
	// --admin is the deprecated alias of --node: it still works, and says so.
	if out, code := edgeCLI(t, "cache", "verify", "--data", data, "--admin", node.banner.admin); code != 0 || !strings.Contains(out, "use --node") {
		t.Errorf("cache verify: %d\n%s", code, out)
	}
}

// callAPI calls the node's admin API with token.
func callAPI(t *testing.T, node *process, token, method, path string, body any) (int, string) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		enc, _ := json.Marshal(b)
		r = bytes.NewReader(enc)
	}
	req, _ := http.NewRequest(method, "http://"+node.banner.admin+path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func token(t *testing.T, data string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

type statsBody struct {
	BlobBytes int64 `json:"bytes_uploaded"`
	Deploys   int64 `json:"deploys"`
}

func deployStats(t *testing.T, node *process, data string) statsBody {
	t.Helper()
	status, body := callAPI(t, node, token(t, data), "GET", "/v1/stats", nil)
	var s statsBody
	if status != 200 || json.Unmarshal([]byte(body), &s) != nil {
		t.Fatalf("GET /v1/stats: %d %s", status, body)
	}
	return s
}

// upload stores files on the node through the API and returns a manifest
// naming them (unsigned).
func upload(t *testing.T, node *process, tok string, files map[string]string) *cache.Manifest {
	t.Helper()
	m := &cache.Manifest{App: "site", Files: map[string]cache.FileRef{}, Created: time.Now().UTC().Truncate(time.Second)}
	for name, content := range files {
		sum := sha256.Sum256([]byte(content))
		d := hex.EncodeToString(sum[:])
		if status, body := callAPI(t, node, tok, "PUT", "/v1/blobs/"+d, []byte(content)); status/100 != 2 {
			t.Fatalf("PUT blob %s: %d %s", name, status, body)
		}
		m.Files[name] = cache.FileRef{Digest: d, Size: int64(len(content))}
	}
	return m
}

const staticToml = "name = \"site\"\nhosts = [\"127.0.0.1\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\n"

// TestDeploySignaturesAndToken: a node that trusts one key refuses
// unsigned, foreign-signed and tampered manifests, and every call without
// the right token; none of them changes what is deployed.
func TestDeploySignaturesAndToken(t *testing.T) {
	keys := t.TempDir()
	for _, k := range []string{"good", "other"} {
		if out, code := edgeCLI(t, "keygen", "--out", filepath.Join(keys, k)); code != 0 {
			t.Fatalf("keygen: %d %s", code, out)
		}
	}
	if fi, err := os.Stat(filepath.Join(keys, "good.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("good.key: %v %v", fi, err)
	}
	data := t.TempDir()
	node := startNode(t, data, "--trust-key", filepath.Join(keys, "good.pub"))
	tok := token(t, data)
	good, err := trust.ReadPrivateKey(filepath.Join(keys, "good.key"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := trust.ReadPrivateKey(filepath.Join(keys, "other.key"))

	dir := site(t, t.TempDir(), "one", nil)
	if out, code := deployTo(t, node, data, dir, "--key", filepath.Join(keys, "other.key")); code == 0 || !strings.Contains(out, "does not trust") {
		t.Errorf("deploy signed by an untrusted key: exit %d\n%s", code, out)
	}
	if out, code := deployTo(t, node, data, dir); code == 0 || !strings.Contains(out, "deploy.key") {
		t.Errorf("deploy with no key to a node trusting only good.pub: exit %d\n%s", code, out)
	}
	mustDeploy(t, node, data, dir, 1, "--key", filepath.Join(keys, "good.key"))

	files := map[string]string{"edge.toml": staticToml, "public/index.html": "<html>page evil</html>", "public/other.html": "x"}
	cases := []struct {
		name   string
		m      func() *cache.Manifest
		status int
		want   string
	}{
		{"unsigned", func() *cache.Manifest { return upload(t, node, tok, files) }, 403, "not signed"},
		{"unknown key", func() *cache.Manifest { return signedWith(upload(t, node, tok, files), other) }, 403, "does not trust"},
		{"tampered digest", func() *cache.Manifest {
			m := signedWith(upload(t, node, tok, files), good)
			m.Files["public/index.html"] = m.Files["public/other.html"]
			return m
		}, 403, "does not match"},
		{"tampered file list", func() *cache.Manifest {
			m := signedWith(upload(t, node, tok, files), good)
			delete(m.Files, "public/other.html")
			return m
		}, 403, "does not match"},
		{"signer swapped", func() *cache.Manifest {
			m := signedWith(upload(t, node, tok, files), other)
			m.Signer = signedWith(upload(t, node, tok, files), good).Signer
			return m
		}, 403, "does not match"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := callAPI(t, node, tok, "POST", "/v1/apps/site/versions", c.m())
			if status != c.status || !strings.Contains(body, c.want) {
				t.Errorf("got %d %s, want %d %q", status, body, c.status, c.want)
			}
		})
	}

	// A blob whose bytes do not hash to its name is refused and not kept.
	fake := strings.Repeat("ab", 32)
	if status, body := callAPI(t, node, tok, "PUT", "/v1/blobs/"+fake, []byte("not those bytes")); status != 400 || !strings.Contains(body, "does not match") {
		t.Errorf("PUT of mismatching bytes: %d %s", status, body)
	}
	if _, body := callAPI(t, node, tok, "POST", "/v1/blobs/missing", map[string]any{"digests": []string{fake}}); !strings.Contains(body, fake) {
		t.Errorf("a refused blob is not missing: %s", body)
	}
	if status, body := callAPI(t, node, tok, "POST", "/v1/blobs/missing", map[string]any{"digests": []string{"xyz"}}); status != 400 || !strings.Contains(body, "digests[0]") {
		t.Errorf("missing with a bad digest: %d %s", status, body)
	}

	m := signedWith(upload(t, node, tok, files), good)
	for _, bad := range []string{"", "wrong-token-wrong-token"} {
		for _, call := range []struct{ method, path string }{
			{"POST", "/v1/apps/site/versions"}, {"POST", "/v1/blobs/missing"}, {"PUT", "/v1/blobs/" + m.Files["edge.toml"].Digest},
			{"GET", "/v1/apps"}, {"GET", "/v1/apps/site/versions"}, {"POST", "/v1/apps/site/activate"}, {"DELETE", "/v1/apps/site"},
		} {
			if status, _ := callAPI(t, node, bad, call.method, call.path, m); status != 401 {
				t.Errorf("%s %s with token %q: %d, want 401", call.method, call.path, bad, status)
			}
		}
	}
	if out, code := edgeCLI(t, "apps", "--node", node.banner.admin, "--token", "wrong-token-wrong-token"); code == 0 || !strings.Contains(out, "401") {
		t.Errorf("edge apps with a wrong token: exit %d\n%s", code, out)
	}
	wantServing(t, node, "one")
	if _, body := callAPI(t, node, tok, "GET", "/v1/apps/site/versions", nil); strings.Count(body, `"version"`) != 1 {
		t.Errorf("history after refused calls: %s", body)
	}
	if status, body := callAPI(t, node, tok, "POST", "/v1/apps/site/versions", ordered(t, node, tok, m, good)); status != 201 || !strings.Contains(body, `"version": 2`) {
		t.Errorf("correctly signed manifest: %d %s", status, body)
	}
	if status, body := page(t, node, "/"); status != 200 || !strings.Contains(body, "evil") {
		t.Errorf("after v2: %d %s", status, body)
	}
}

func signedWith(m *cache.Manifest, key ed25519.PrivateKey) *cache.Manifest {
	trust.Sign(m, key)
	return m
}

// ordered is the body that deploys m: m with a statement signed by key
// at the app's next sequence, which the node tells.
func ordered(t *testing.T, node *process, tok string, m *cache.Manifest, key ed25519.PrivateKey) api.VersionRequest {
	t.Helper()
	status, body := callAPI(t, node, tok, "GET", "/v1/apps/"+m.App+"/state", nil)
	var st api.AppState
	if status != 200 || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("GET state: %d %s", status, body)
	}
	s := trust.NewStatement(m.App, trust.ActDeploy, st.Seq+1, m)
	trust.SignStatement(s, key)
	return api.VersionRequest{Manifest: *m, Statement: s}
}

// TestDeployValidation: versions that cannot become a working app are
// refused with a 4xx naming the file, the field and the reason, and
// nothing of them is recorded: v1 keeps serving.
func TestDeployValidation(t *testing.T) {
	data := t.TempDir()
	node := startNode(t, data, "--max-bundle", "4000000")
	tok := token(t, data)
	mustDeploy(t, node, data, site(t, t.TempDir(), "one", nil), 1)
	key, err := trust.ReadPrivateKey(filepath.Join(data, "deploy.key"))
	if err != nil {
		t.Fatal(err)
	}
	wasm, _ := os.ReadFile("../../modules/examples/demo/hello.wasm")
	dyn := func(module string) string {
		return "name = \"site\"\nhosts = [\"127.0.0.1\"]\n[[routes]]\npath = \"/dyn\"\nmodule = \"" + module + "\"\n"
	}
	cases := []struct {
		name   string
		files  map[string]string
		status int
		want   []string
	}{
		{"bad toml", map[string]string{"edge.toml": "name = \"site\"\nhosts = [\n"}, 422, []string{"edge.toml", "line"}},
		{"unknown field", map[string]string{"edge.toml": staticToml + "colour = \"red\"\n"}, 422, []string{"edge.toml", "colour", "unknown field"}},
		{"missing file", map[string]string{"edge.toml": dyn("gone.wasm")}, 422, []string{"edge.toml", "routes[0]", "gone.wasm"}},
		{"not a module", map[string]string{"edge.toml": dyn("bad.wasm"), "bad.wasm": "\x00asm\x01\x00\x00\x00\x01\x05"}, 422, []string{"routes[0]", "bad.wasm", "end-of-file"}},
		{"duplicate route", map[string]string{"edge.toml": dyn("m.wasm") + "[[routes]]\npath = \"/dyn\"\nstatic = \"m.wasm\"\n", "m.wasm": string(wasm)}, 422, []string{"routes[1]", "/dyn"}},
		{"other app name", map[string]string{"edge.toml": strings.Replace(staticToml, `"site"`, `"other"`, 1), "public/a": "a"}, 422, []string{"edge.toml", "name", "other"}},
		{"no edge.toml", map[string]string{"public/a": "a"}, 400, []string{"edge.toml is missing"}},
		{"over the size limit", map[string]string{"edge.toml": staticToml, "public/a": strings.Repeat("a", 2_100_000), "public/b": strings.Repeat("b", 2_100_000)}, 413, []string{"too large", "limit is 4000000"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := callAPI(t, node, tok, "POST", "/v1/apps/site/versions", ordered(t, node, tok, signedWith(upload(t, node, tok, c.files), key), key))
			if status != c.status {
				t.Errorf("status %d, want %d: %s", status, c.status, body)
			}
			if strings.Contains(body, "Stack backtrace") {
				t.Errorf("error carries the runtime's backtrace: %s", body)
			}
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("error %s does not mention %q", body, w)
				}
			}
		})
	}
	// A host another deployed app holds: refused as a conflict.
	other := site(t, t.TempDir(), "x", map[string]string{"edge.toml": strings.Replace(staticToml, `"site"`, `"other"`, 1), "public/index.html": "o"})
	if out, code := deployTo(t, node, data, other); code == 0 || !strings.Contains(out, "409") || !strings.Contains(out, `"127.0.0.1"`) {
		t.Errorf("deploy of a second app on the same host: exit %d\n%s", code, out)
	}
	// The CLI checks edge.toml before sending anything.
	bad := site(t, t.TempDir(), "x", map[string]string{"edge.toml": staticToml + "oops = 1\n"})
	if out, code := deployTo(t, node, data, bad); code == 0 || !strings.Contains(out, "oops") || strings.Contains(out, "uploaded 1") {
		t.Errorf("deploy of a bad edge.toml: exit %d\n%s", code, out)
	}
	wantServing(t, node, "one")
	if _, body := callAPI(t, node, tok, "GET", "/v1/apps/site/versions", nil); strings.Count(body, `"version"`) != 1 {
		t.Errorf("history after refused deploys: %s", body)
	}
	if _, body := callAPI(t, node, tok, "GET", "/v1/apps", nil); strings.Contains(body, `"other"`) {
		t.Errorf("a refused app is listed: %s", body)
	}
}

// TestDeployKill9 kills the node at random moments of a deploy, 20 times.
// After each restart one whole version serves (the previous one, or the
// new one if its transaction committed), history agrees with what
// serves, and the cache verifies clean.
func TestDeployKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a node 20 times")
	}
	data := t.TempDir()
	dir := t.TempDir()
	rng := killRand(t)
	node := startNode(t, data)
	mustDeploy(t, node, data, site(t, dir, "m0", nil), 1)
	serving := "m0"
	version := 1
	for i := 1; i <= 20; i++ {
		marker := fmt.Sprintf("m%d", i)
		site(t, dir, marker, map[string]string{"public/blob.bin": strings.Repeat(marker, 1_000_000)})
		cmd := exec.Command(edgeBinary(t), "deploy", dir, "--node", node.banner.admin, "--data", data)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.IntN(300)) * time.Millisecond
		time.Sleep(delay)
		node.kill()
		_ = cmd.Wait()
		node = startNode(t, data)
		_, body := page(t, node, "/")
		now := strings.TrimSuffix(strings.TrimPrefix(body, "<html>page "), "</html>")
		if now != serving && now != marker {
			t.Fatalf("kill %d (+%v): serving %q, want %q or %q\ndeploy said:\n%s", i, delay, body, serving, marker, out.String())
		}
		wantServing(t, node, now)
		var h cache.AppVersions
		_, hist := callAPI(t, node, token(t, data), "GET", "/v1/apps/site/versions", nil)
		if err := json.Unmarshal([]byte(hist), &h); err != nil {
			t.Fatal(err)
		}
		wantVersion := version
		if now == marker {
			wantVersion = version + 1
		}
		if h.Active != wantVersion {
			t.Fatalf("kill %d: active v%d serving %s, want v%d", i, h.Active, now, wantVersion)
		}
		t.Logf("kill %d (+%v) after %s: serving %s (v%d)", i, delay, strings.TrimSpace(strings.ReplaceAll(out.String(), "\n", " | ")), now, h.Active)
		serving, version = now, wantVersion
	}
	node.stop(t)
	if out, code := edgeCLI(t, "cache", "verify", "--data", data); code != 0 {
		t.Fatalf("cache verify after 20 kills: %d\n%s", code, out)
	}
	node = startNode(t, data)
	wantServing(t, node, serving)
}

// killRand is the source of a kill test's random moments, seeded from
// EDGE_KILL_SEED if set, else from the clock, and logged either way: a
// failing run's kill times can be replayed.
func killRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("EDGE_KILL_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("EDGE_KILL_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("kill times drawn with seed %d (EDGE_KILL_SEED=%d replays them)", seed, seed)
	return rand.New(rand.NewPCG(seed, 1))
}

// TestConcurrentDeploys deploys two versions of one app at once, several
// times. Deploys are serialised on the node: both are recorded, with
// consecutive numbers, and the higher one is the single winner, served
// whole.
func TestConcurrentDeploys(t *testing.T) {
	data := t.TempDir()
	node := startNode(t, data)
	version := 0
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		outs := make([]string, 2)
		for j := range outs {
			dir := site(t, t.TempDir(), fmt.Sprintf("r%dc%d", round, j), nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				var code int
				outs[j], code = deployTo(t, node, data, dir)
				if code != 0 {
					t.Errorf("concurrent deploy %d: exit %d\n%s", j, code, outs[j])
				}
			}()
		}
		wg.Wait()
		var h cache.AppVersions
		_, hist := callAPI(t, node, token(t, data), "GET", "/v1/apps/site/versions", nil)
		if err := json.Unmarshal([]byte(hist), &h); err != nil {
			t.Fatal(err)
		}
		version += 2
		if len(h.Versions) != version || h.Active != version {
			t.Fatalf("round %d: %d versions, active v%d; want %d, v%d", round, len(h.Versions), h.Active, version, version)
		}
		for i, m := range h.Versions {
			if m.Version != i+1 {
				t.Fatalf("history not consecutive: %s", hist)
			}
		}
		winner := ""
		for j, o := range outs {
			if strings.Contains(o, fmt.Sprintf("deployed site v%d", version)) {
				winner = fmt.Sprintf("r%dc%d", round, j)
			}
		}
		if winner == "" {
			t.Fatalf("no deploy reports v%d: %q", version, outs)
		}
		wantServing(t, node, winner)
		sum := sha256.Sum256([]byte("<html>page " + winner + "</html>"))
		if got := h.ActiveManifest().Files["public/index.html"].Digest; got != hex.EncodeToString(sum[:]) {
			t.Errorf("active manifest's page %s is not the one served", got)
		}
	}
}

// TestInFlightRequestFinishesOnItsVersion starts a large download, deploys
// a version that changes the file, and finishes reading: the download is
// the old file, whole, while new requests get the new one.
func TestInFlightRequestFinishesOnItsVersion(t *testing.T) {
	data := t.TempDir()
	node := startNode(t, data)
	const size = 8 << 20
	dir := site(t, t.TempDir(), "one", map[string]string{"public/big.bin": strings.Repeat("a", size)})
	mustDeploy(t, node, data, dir, 1)
	resp, err := http.Get(node.banner.http + "/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := make([]byte, 1024)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatal(err)
	}
	site(t, dir, "two", map[string]string{"public/big.bin": strings.Repeat("b", size)})
	mustDeploy(t, node, data, dir, 2)
	if status, body := page(t, node, "/big.bin"); status != 200 || strings.Count(body, "b") != size {
		t.Errorf("new request after deploy: %d, %d bytes of b", status, strings.Count(body, "b"))
	}
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(head, rest...); len(got) != size || strings.Count(string(got), "a") != size {
		t.Errorf("in-flight download: %d bytes, %d of them a", len(got), strings.Count(string(got), "a"))
	}
}

// TestDeployedAppWinsOverDirApp: a deployed app and an --app directory
// of the same name: the deployed one serves, across restarts, with a log
// line saying so; removing it brings the directory's app back.
func TestDeployedAppWinsOverDirApp(t *testing.T) {
	data := t.TempDir()
	dirApp := site(t, t.TempDir(), "fromdir", nil)
	node := startNode(t, data, "--app", dirApp)
	wantServing(t, node, "fromdir")
	mustDeploy(t, node, data, site(t, t.TempDir(), "deployed", nil), 1)
	wantServing(t, node, "deployed")
	node.stop(t)
	node = startNode(t, data, "--app", dirApp)
	wantServing(t, node, "deployed")
	node.waitLog(t, "deployed app replaces the --app directory")
	if out, code := edgeCLI(t, "app", "rm", "site", "--node", node.banner.admin, "--data", data); code != 0 {
		t.Fatalf("app rm: %d %s", code, out)
	}
	wantServing(t, node, "fromdir")
}
