package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/edgecdn/edge/ops"
)

// bigSite writes an app whose static file is larger than the socket
// buffers of a loopback connection from slowClient (the kernel's send
// buffer, 4 MiB at most by default, and a small receive buffer): a client
// that stops reading keeps the request in flight. And a route whose guest
// spins until its 30s deadline.
func bigSite(t *testing.T) (dir string, body []byte) {
	t.Helper()
	dir = t.TempDir()
	body = bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB
	if err := os.MkdirAll(filepath.Join(dir, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := "name = \"big\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\n" +
		"[[routes]]\npath = \"/spin\"\nmodule = \"spin.wasm\"\ntimeout = \"30s\"\n"
	spin, err := wasmtime.Wat2Wasm(`(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))`)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"edge.toml": []byte(manifest), "public/big.bin": body, "spin.wasm": spin} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, body
}

// TestDrainOnSIGTERM runs a real node: a large download in flight when
// SIGTERM arrives completes with its full body; /readyz answers 503 at
// once; new connections are refused; the process exits 0.
func TestDrainOnSIGTERM(t *testing.T) {
	dir, body := bigSite(t)
	p := startNode(t, t.TempDir(), "--app", dir)
	resp, err := slowClient().Get(p.banner.http + "/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1)
	if _, err := io.ReadFull(resp.Body, first); err != nil { // in flight, and now not reading
		t.Fatal(err)
	}
	admin := "http://" + p.banner.admin + "/"
	if status, _ := get(t, admin+"readyz"); status != 200 {
		t.Fatalf("/readyz of a serving node = %d", status)
	}
	if err := h3Get(t, p.banner.ca, p.banner.https+"/none"); err != nil {
		t.Fatalf("HTTP/3 before the drain: %v", err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "draining")
	if status, text := get(t, admin+"readyz"); status != 503 || !strings.Contains(text, "draining") {
		t.Errorf("/readyz during the drain = %d %q, want 503 draining", status, text)
	}
	waitRefused(t, hostOf(t, p.banner.http))
	waitRefused(t, hostOf(t, p.banner.https))
	if err := h3Get(t, p.banner.ca, p.banner.https+"/big.bin"); err == nil {
		t.Errorf("a new HTTP/3 connection was accepted during the drain")
	}
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("the download in flight was cut: %v after %d bytes", err, len(rest)+1)
	}
	if got := append(first, rest...); sha256.Sum256(got) != sha256.Sum256(body) {
		t.Errorf("the download in flight got %d bytes, want the %d of the file", len(got), len(body))
	}
	if err := waitExit(p, 20*time.Second); err != nil {
		t.Fatalf("node after SIGTERM: %v\n%s", err, p.stderr())
	}
	if !strings.Contains(p.stderr(), `msg=drained`) {
		t.Errorf("node did not log the drain:\n%s", p.stderr())
	}
}

// TestDrainTimeoutCutsAGuest: with --drain-timeout 1s, a guest that
// would run for 30s is cut and the process still exits 0.
func TestDrainTimeoutCutsAGuest(t *testing.T) {
	dir, _ := bigSite(t)
	data := t.TempDir()
	p := startNode(t, data, "--app", dir, "--drain-timeout", "1s")
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(p.banner.http + "/spin")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	pollUntil(t, "the guest is running", func() bool {
		_, text := getToken(t, data, "http://"+p.banner.admin+"/metrics")
		return strings.Contains(text, "edge_guests_in_flight 1")
	})
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(p, 15*time.Second); err != nil {
		t.Fatalf("node after SIGTERM: %v\n%s", err, p.stderr())
	}
	if err := <-done; err == nil {
		t.Errorf("the 30s guest's request completed; it should have been cut")
	}
	if !strings.Contains(p.stderr(), "requests still in flight were cut") {
		t.Errorf("node did not say it cut requests:\n%s", p.stderr())
	}
	t.Logf("exited %s after SIGTERM", time.Since(start).Round(time.Millisecond))
}

// slowClient's connections have a 64 KiB receive buffer, which the kernel
// then does not grow: what the client does not read stays on the server.
func slowClient() *http.Client {
	d := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		_ = c.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 64<<10) })
		return err
	}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// h3Get makes one request over a new HTTP/3 connection.
func h3Get(t *testing.T, caFile, u string) error {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, QUICConfig: &quic.Config{HandshakeIdleTimeout: 2 * time.Second}}
	defer tr.Close()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(u)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

// waitExit waits for the process to end and reports a non-zero exit.
func waitExit(p *process, d time.Duration) error {
	select {
	case <-p.logged:
	case <-time.After(d):
		p.kill()
		return errors.New("still running after " + d.String())
	}
	return p.cmd.Wait()
}

// waitRefused polls until a TCP connect to addr is refused.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	pollUntil(t, "new connections to "+addr+" are refused", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return false
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
}

func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hostOf(t *testing.T, u string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return pu.Host
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	return do(t, u, "")
}

// getToken calls the admin API with the token the node generated in data.
func getToken(t *testing.T, data, u string) (int, string) {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(data, ops.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	return do(t, u, strings.TrimSpace(string(tok)))
}

func do(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
