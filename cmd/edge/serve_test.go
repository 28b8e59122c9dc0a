package main

import (
	"bufio"
	"context"
	ctls "crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// banner is what a started node printed: its URLs and CA file.
type banner struct{ http, https, admin, ca string }

var bannerLine = regexp.MustCompile(`^(http|https|admin|ca):\s+(\S+)`)

// readBanner scans a node's stdout until the ca: line (the last one printed
// when HTTPS is on), then keeps draining it in the background.
func readBanner(t *testing.T, r io.Reader) banner {
	t.Helper()
	b, err := scanBanner(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// scanBanner is readBanner for callers that handle a node that failed to
// start.
func scanBanner(r io.Reader) (banner, error) {
	var b banner
	sc := bufio.NewScanner(r)
	for b.ca == "" && sc.Scan() {
		m := bannerLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		switch m[1] {
		case "http":
			b.http = strings.TrimSuffix(m[2], "/")
		case "https":
			b.https = strings.TrimSuffix(m[2], "/")
		case "admin":
			b.admin = strings.TrimSuffix(strings.TrimPrefix(m[2], "http://"), "/")
		case "ca":
			b.ca = m[2]
		}
	}
	if b.ca == "" {
		return b, fmt.Errorf("node exited before printing its addresses: %v", sc.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	return b, nil
}

// serveInProcess runs `edge serve args...` in this process on port 0 and
// returns its banner and a stop function that waits for a clean exit.
func serveInProcess(t *testing.T, args ...string) banner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	base := []string{"serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--log-level", "warn", "--admin", "127.0.0.1:0"}
	go func() {
		done <- run(ctx, append(base, args...), pw, io.Discard)
		pw.Close()
	}()
	b := readBanner(t, pr)
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("edge serve exited %d", code)
			}
		case <-time.After(15 * time.Second):
			t.Error("edge serve did not stop within 15s of cancellation")
		}
	})
	return b
}

// protocolClients trusts the node's CA and forces each protocol.
func protocolClients(t *testing.T, caFile string) map[string]*http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	h1 := &http.Transport{TLSClientConfig: &ctls.Config{RootCAs: pool}, TLSNextProto: map[string]func(string, *ctls.Conn) http.RoundTripper{}}
	h2 := &http.Transport{TLSClientConfig: &ctls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	h3 := &http3.Transport{TLSClientConfig: &ctls.Config{RootCAs: pool}}
	t.Cleanup(func() { h1.CloseIdleConnections(); h2.CloseIdleConnections(); _ = h3.Close() })
	return map[string]*http.Client{"HTTP/1.1": {Transport: h1}, "HTTP/2.0": {Transport: h2}, "HTTP/3.0": {Transport: h3}}
}

func fetch(t *testing.T, c *http.Client, url string) (int, string, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Proto, string(body)
}

func TestServeDemo(t *testing.T) {
	b := serveInProcess(t)
	for proto, c := range protocolClients(t, b.ca) {
		status, got, body := fetch(t, c, b.https+"/api/hello?name=x")
		if status != 200 || got != proto || !strings.Contains(body, "Hello, x!") {
			t.Errorf("%s: /api/hello = %d over %s %q", proto, status, got, body)
		}
		status, _, body = fetch(t, c, b.https+"/api/hello-go?name=y")
		if status != 200 || !strings.Contains(body, "Hello, y!") {
			t.Errorf("%s: /api/hello-go = %d %q", proto, status, body)
		}
	}
	status, _, body := fetch(t, http.DefaultClient, b.http+"/")
	if status != 200 || !strings.Contains(body, "<html") {
		t.Errorf("plain GET / = %d %q", status, body)
	}
}

// TestServeApp loads an app from a directory with --app: a static page and
// the C guest copied from the demo, under this app's own routes.
func TestServeApp(t *testing.T) {
	dir := t.TempDir()
	wasm, err := os.ReadFile("../../modules/examples/demo/hello.wasm")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"edge.toml": `name = "mysite"
hosts = ["127.0.0.1", "localhost"]
[[routes]]
path = "/dyn/..."
module = "bin/hello.wasm"
env = { GREETING = "Howdy" }
[[routes]]
path = "/..."
static = "site"
`,
		"site/index.html": "<html><body>my site</body></html>",
		"bin/hello.wasm":  string(wasm),
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
	b := serveInProcess(t, "--app", dir)
	for proto, c := range protocolClients(t, b.ca) {
		if status, _, body := fetch(t, c, b.https+"/"); status != 200 || !strings.Contains(body, "my site") {
			t.Errorf("%s: / = %d %q", proto, status, body)
		}
		if status, _, body := fetch(t, c, b.https+"/dyn/anything?name=z"); status != 200 || !strings.Contains(body, "Howdy, z!") {
			t.Errorf("%s: /dyn/anything = %d %q", proto, status, body)
		}
		if status, _, _ := fetch(t, c, b.https+"/api/hello"); status != 404 {
			t.Errorf("%s: the demo's route answered %d on a node serving only --app", proto, status)
		}
	}
}

func TestServeRefusesBadApp(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "edge.toml"), []byte("name = \"x\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/\"\nmodule = \"missing.wasm\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	code := run(context.Background(), []string{"serve", "--data", t.TempDir(), "--app", dir}, io.Discard, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "missing.wasm") || !strings.Contains(stderr.String(), "routes[0]") {
		t.Errorf("exit %d, stderr %q: want a failure naming routes[0] and missing.wasm", code, stderr.String())
	}
}

func TestServeConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "edge.conf")
	if err := os.WriteFile(cfgFile, []byte("http = \"127.0.0.1:0\"\nhttps = \"\"\nnot_a_key = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	if code := run(context.Background(), []string{"serve", "--config", cfgFile}, io.Discard, &stderr); code == 0 || !strings.Contains(stderr.String(), "not_a_key") {
		t.Errorf("unknown config key: exit %d, stderr %q", code, stderr.String())
	}
	cfg, err := parseServeFlags(t, "--config", writeFile(t, dir, "ok.conf", "data = \"/tmp/x\"\nhttp = \"127.0.0.1:1\"\napps = [\"a\", \"b\"]\nqueue_wait = \"3s\"\n"), "--http", "127.0.0.1:2")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Data != "/tmp/x" || cfg.HTTP != "127.0.0.1:2" || len(cfg.Apps) != 2 || cfg.QueueWait != 3*time.Second {
		t.Errorf("config file + flag override = %+v", cfg)
	}
	// A repeatable flag replaces the file's list rather than adding to it.
	cfg, err = parseServeFlags(t, "--app", "c", "--config="+filepath.Join(dir, "ok.conf"), "--app", "d")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Apps, ",") != "c,d" || cfg.HTTP != "127.0.0.1:1" {
		t.Errorf("--app over a config file's apps: apps %v, http %q; want [c d] and the file's http", cfg.Apps, cfg.HTTP)
	}
}

// parseServeFlags runs `edge serve args...` up to the point it would
// start a node, and returns the config it would start with.
func parseServeFlags(t *testing.T, args ...string) (serveConfig, error) {
	t.Helper()
	var got serveConfig
	cmd := serveCmd(append([]string{"serve"}, args...), func(_ context.Context, cfg serveConfig, _, _ io.Writer) error {
		got = cfg
		return nil
	})
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.Execute()
	return got, err
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBinaryStopsCleanlyOnSignal builds the real binary, starts it as a new
// user would (no flags but a data dir and free ports), and checks SIGTERM
// and SIGINT each end it with status 0.
func TestBinaryStopsCleanlyOnSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := edgeBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			b := readBanner(t, stdout)
			if status, _, _ := fetch(t, protocolClients(t, b.ca)["HTTP/2.0"], b.https+"/api/hello?name=sig"); status != 200 {
				t.Fatalf("binary answered %d", status)
			}
			_ = cmd.Process.Signal(sig)
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			select {
			case err := <-waited:
				if err != nil {
					t.Errorf("exit after %s: %v", sig, err)
				}
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("still running 15s after %s", sig)
			}
		})
	}
}
