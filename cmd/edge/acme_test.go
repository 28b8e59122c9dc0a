package main

import (
	"context"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/tls/acmetest"
)

// staticApp writes an app directory serving one page on hosts.
func staticApp(t *testing.T, name, page string, hosts ...string) string {
	t.Helper()
	dir := t.TempDir()
	toml := "name = \"" + name + "\"\nhosts = [\"" + strings.Join(hosts, "\", \"") + "\"]\n" +
		"[[routes]]\npath = \"/...\"\nstatic = \"public\"\n"
	for file, content := range map[string]string{"edge.toml": toml, "public/index.html": page} {
		p := filepath.Join(dir, file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// httpsGet fetches https://name/ from the node, over h3 or h2, trusting
// only roots; it returns the body and the protocol, or an error.
func httpsGet(node *process, name string, roots *x509.CertPool, h3 bool) (string, string, error) {
	addr := strings.TrimPrefix(node.banner.https, "https://")
	_, port, _ := net.SplitHostPort(addr)
	rt, closeRT := acmetest.Transport(addr, name, roots, h3)
	defer closeRT()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+net.JoinHostPort(name, port)+"/", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), resp.Proto, err
}

// waitHTTPS polls until name is served over h2 with a certificate roots
// trust, and returns how long that took.
func waitHTTPS(t *testing.T, node *process, name string, roots *x509.CertPool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		_, _, err := httpsGet(node, name, roots, false)
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > 60*time.Second {
			t.Fatalf("https://%s/ not served after 60s: %v\nnode log:\n%s", name, err, node.stderr())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The user's path to a real domain, through the binary: a node started
// with --acme-* flags gets a certificate for its app's host from the CA and
// serves it over h2 and h3; a new app deployed to the running node gets
// its own; `edge certs` and /metrics show them; a restart orders nothing.
func TestServeRealDomain(t *testing.T) {
	edgeBinary(t) // built before HOME moves: go build keeps its caches there
	home := t.TempDir()
	t.Setenv("HOME", home) // the node inherits it: nothing may land there
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	ca := acmetest.Start(t, acmetest.Options{})
	data := t.TempDir()
	flags := []string{"--app", staticApp(t, "shop", "shop page", "shop.example.com", "127.0.0.1"),
		"--acme-ca", ca.URL, "--acme-ca-root", ca.RootsFile, "--acme-email", "ops@example.com"}
	node := startNode(t, data, flags...)

	took := waitHTTPS(t, node, "shop.example.com", ca.Issuing)
	t.Logf("start to HTTPS served: %v", took)
	for _, h3 := range []bool{false, true} {
		body, proto, err := httpsGet(node, "shop.example.com", ca.Issuing, h3)
		if err != nil || body != "shop page" {
			t.Errorf("h3=%v: %q over %s, %v", h3, body, proto, err)
		}
	}

	before := ca.Requests()
	if _, _, err := httpsGet(node, "evil.example.com", ca.Issuing, false); err == nil {
		t.Errorf("a name no app serves got HTTPS")
	}

	// Deploy a new hostname to the running node: measured from the deploy
	// command's start to HTTPS served.
	start := time.Now()
	out, code := deployTo(t, node, data, staticApp(t, "news", "news page", "news.example.com"))
	if code != 0 {
		t.Fatalf("edge deploy: %d\n%s", code, out)
	}
	waitHTTPS(t, node, "news.example.com", ca.Issuing)
	t.Logf("deploy to HTTPS served (new hostname): %v", time.Since(start))
	if got := ca.Orders(); got != 2 {
		t.Errorf("%d orders at the CA for two names, want 2", got)
	}
	if got := ca.Requests() - before; got == 0 {
		t.Errorf("no CA traffic for the deployed name?")
	}

	out, code = edgeCLI(t, "certs", "--node", node.banner.admin, "--data", data)
	for _, want := range []string{"shop.example.com  acme", "news.example.com  acme", "Pebble Intermediate"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("edge certs (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	if status, body := callAPI(t, node, token(t, data), http.MethodGet, "/metrics", nil); status != 200 ||
		!strings.Contains(body, `edge_tls_cert_expiry_seconds{name="news.example.com"}`) {
		t.Errorf("/metrics = %d, no expiry gauge for news.example.com:\n%s", status, body)
	}

	node.stop(t)
	orders := ca.Orders()
	node = startNode(t, data, flags...)
	waitHTTPS(t, node, "news.example.com", ca.Issuing)
	waitHTTPS(t, node, "shop.example.com", ca.Issuing)
	if got := ca.Orders(); got != orders {
		t.Errorf("restart placed %d new orders, want 0", got-orders)
	}
	if entries, _ := os.ReadDir(home); len(entries) > 0 {
		t.Errorf("the node wrote %s into HOME", entries[0].Name())
	}
}
