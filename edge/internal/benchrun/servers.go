package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// A row is one load on one server: the test it belongs to, the protocol
// and the path. Rows of the same test on different servers are compared.
type row struct {
	test, proto, path string
}

// plain reports whether the row goes over plain HTTP, on the server's
// plainBase if it has one. The dynamic rows do, on the node as on the
// bare hello server: they compare the node's request path with
// net/http's, not TLS with none.
func (r row) plain() bool { return dynTests[r.test] }

var dynTests = map[string]bool{dynWAGI: true, dynEdgeABI: true, dynJS: true}

// The tests, in the order of the table.
const (
	static4k   = "static 4 KiB"
	static1m   = "static 1 MiB"
	dynWAGI    = "dynamic C hello, WAGI"
	dynEdgeABI = "dynamic C hello, edge ABI"
	dynJS      = "dynamic JS hello"
)

// tests are the tests in the order they run and are shown.
var tests = []string{static4k, static1m, dynWAGI, dynEdgeABI, dynJS}

// server is one peer: how to start it and which rows it runs.
type server struct {
	name string
	// start launches the server listening on port (TCP and UDP).
	start func(port int) (*exec.Cmd, error)
	plain bool // serves plain HTTP (the hello peer) rather than HTTPS
	// plainBase, if set, is where the server also serves plain HTTP
	// (known once start has run), for its rows marked plain.
	plainBase func() string
	// slow: its first answer may take minutes (the node compiles the
	// JavaScript engine's snapshot on a cold start).
	slow bool
	rows []row
}

const edgeName = "edge"

// dynRows are the node's dynamic rows, over its plain-HTTP listener.
var dynRows = []row{
	{dynWAGI, "h1", "/api/hello?name=bench"}, {dynEdgeABI, "h1", "/api/hello-edge?name=bench"},
	{dynJS, "h1", "/api/hello-js?name=bench"},
}

var staticRows = []row{
	{static4k, "h1", smallFile}, {static4k, "h2", smallFile}, {static4k, "h3", smallFile},
	{static1m, "h2", largeFile},
}

func servers(fx *fixture, t tools) []server {
	noH3 := []row{staticRows[0], staticRows[1], staticRows[3]}
	all := []server{
		{name: edgeName, start: fx.startEdge, slow: true, plainBase: fx.edgePlainBase,
			rows: append(append([]row{}, staticRows...), dynRows...)},
		{name: "go net/http + quic-go", start: fx.startGoPeer, rows: staticRows},
		{name: "nginx", start: func(p int) (*exec.Cmd, error) { return fx.startNginx(t.nginx, p) }, rows: noH3},
		{name: "caddy", start: func(p int) (*exec.Cmd, error) { return fx.startCaddy(t.caddy, p) }, rows: staticRows},
		{name: "go net/http hello", start: fx.startHello, plain: true, rows: []row{
			{dynWAGI, "h1", "/?name=bench"}, {dynEdgeABI, "h1", "/?name=bench"}, {dynJS, "h1", "/?name=bench"}}},
	}
	if baselineEdge != "" {
		all = slices.Insert(all, 1, server{name: baselineName, start: fx.startBaseline, slow: true,
			plainBase: fx.baselinePlainBase, rows: append(append([]row{}, staticRows...), dynRows...)})
	}
	return all
}

// A live server: started once, idle while the others are measured.
type live struct {
	server
	cmd  *exec.Cmd
	base string
}

// url is where row r is loaded on this server.
func (l *live) url(r row) string {
	if r.plain() && l.plainBase != nil {
		return l.plainBase() + r.path
	}
	return l.base + r.path
}

// startAll starts every server on its own port and waits until each
// answers. They stay up for the whole run, so that each row can measure
// the servers one right after another: on a shared machine the load
// drifts over minutes, and a ratio is only fair between measurements
// taken close together.
func startAll(svs []server) ([]*live, error) {
	var all []*live
	for _, sv := range svs {
		port, err := freePort()
		if err != nil {
			return all, err
		}
		cmd, err := sv.start(port)
		if err != nil {
			return all, fmt.Errorf("%s: %w", sv.name, err)
		}
		l := &live{server: sv, cmd: cmd, base: fmt.Sprintf("https://127.0.0.1:%d", port)}
		if sv.plain {
			l.base = fmt.Sprintf("http://127.0.0.1:%d", port)
		}
		all = append(all, l)
		// One request per row first: every server starts the measured
		// runs warm (the node's object cache, nginx's open files).
		for _, r := range sv.rows {
			err := waitReady(l.url(r), cmd)
			for try := 0; err != nil && sv.slow && try < 10 && cmd.ProcessState == nil; try++ {
				err = waitReady(l.url(r), cmd) // 30 s more each
			}
			if err != nil {
				return all, fmt.Errorf("%s: %w (log: %s)", sv.name, err, logTail(cmd))
			}
		}
	}
	return all, nil
}

func stopAll(all []*live) {
	for _, l := range all {
		stop(l.cmd)
	}
}

// measurement is how one table's rows are measured.
type measurement struct {
	tests  []string
	rounds int
	d      time.Duration // each row's length
	// profile: a CPU profile of the node under each of its rows, when
	// -profile asks (the main table's node only).
	profile bool
	load    func(l *live, r row) (result, error)
	// warm, if set, loads a row on a server briefly, unmeasured, before
	// its first round: the first load of a row pays for new connections
	// and the node's first use of pool slots, and would otherwise fall on
	// whichever server comes first in round 0 (the node).
	warm func(l *live, r row)
}

// run runs each test and protocol on every server that has it, one after
// another, rounds times (the servers' order reversed every other round),
// and keeps each row's median by req/s. A row none of whose requests
// succeeded is counted as failed, so the run fails once the table is out.
func (m measurement) run(all []*live) []result {
	var out []result
	for _, test := range m.tests {
		for _, proto := range []string{"h1", "h2", "h3"} {
			if !matchesAny(onlyProtos, proto) {
				continue
			}
			got := map[string][]result{}
			if m.warm != nil {
				for _, l := range all {
					if r, ok := l.row(test, proto); ok {
						m.warm(l, r)
					}
				}
			}
			for round := range max(m.rounds, 1) {
				order := slices.Clone(all)
				if round%2 == 1 {
					slices.Reverse(order)
				}
				for _, l := range order {
					if r, ok := l.row(test, proto); ok {
						got[l.name] = append(got[l.name], m.once(l, r, round))
					}
				}
			}
			for _, l := range all {
				if rs := got[l.name]; len(rs) > 0 {
					slices.SortFunc(rs, func(a, b result) int { return cmp.Compare(a.rps, b.rps) })
					out = append(out, rs[len(rs)/2])
				}
			}
		}
	}
	return out
}

// once runs one row once, with the server's CPU time per request and,
// for the node, a CPU profile when asked.
func (m measurement) once(l *live, r row, round int) result {
	cpu0 := cpuSeconds(l.cmd.Process.Pid)
	profiled := func() error { return nil }
	if m.profile && l.name == edgeName {
		profiled = startProfile(fmt.Sprintf("%s-%s-%d", r.test, r.proto, round), m.d)
	}
	res, err := m.load(l, r)
	if perr := profiled(); perr != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", perr)
	}
	res.server, res.row = l.name, r
	if res.requests > 0 {
		res.cpuPerReq = (cpuSeconds(l.cmd.Process.Pid) - cpu0) / float64(res.requests) * 1e6
	}
	if res.requests == 0 {
		res.failed = max(res.failed, 1)
	}
	if err != nil { // shown in the table, the run goes on
		fmt.Fprintf(os.Stderr, "bench: %s %s %s: %v\n", l.name, r.test, r.proto, err)
	}
	fmt.Fprintf(os.Stderr, "bench: %-28s %-28s %s %9.0f req/s %8.1f MB/s\n", l.name, r.test, r.proto, res.rps, res.mbps)
	return res
}

// row finds the server's row for a test and protocol.
func (sv server) row(test, proto string) (row, bool) {
	for _, r := range sv.rows {
		if r.test == test && r.proto == proto {
			return r, true
		}
	}
	return row{}, false
}

// freePort finds a port free on 127.0.0.1 for both TCP and UDP.
func freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no port free for both TCP and UDP")
}

// waitReady polls url until it answers 200, for up to 30 seconds.
func waitReady(url string, cmd *exec.Cmd) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cmd.ProcessState != nil {
			return fmt.Errorf("exited: %s", cmd.ProcessState)
		}
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 within 30s", url)
}

// launch starts a server process with its output in a log file.
func launch(logPath string, env []string, bin string, args ...string) (*exec.Cmd, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(append(os.Environ(), "QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING=true"), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	go func() { _ = cmd.Wait(); f.Close() }()
	return cmd, nil
}

// stop ends a server this program started: SIGTERM to its process group
// (nginx's workers too), then SIGKILL if it lingers.
func stop(cmd *exec.Cmd) {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for ctx.Err() == nil && syscall.Kill(-pgid, 0) == nil {
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

func logTail(cmd *exec.Cmd) string {
	f, ok := cmd.Stdout.(*os.File)
	if !ok {
		return ""
	}
	b, _ := os.ReadFile(f.Name())
	s := string(b)
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return strings.TrimSpace(s)
}

func (fx *fixture) startEdge(port int) (*exec.Cmd, error) {
	admin, err := edgeAdminArgs()
	if err != nil {
		return nil, err
	}
	plain, err := freePort()
	if err != nil {
		return nil, err
	}
	fx.edgePlain = fmt.Sprintf("127.0.0.1:%d", plain)
	args := append([]string{"serve", "--data", fx.edgeData, "--app", fx.appDir, "--log-level", "warn",
		"--http", fx.edgePlain, "--https", fmt.Sprintf("127.0.0.1:%d", port)}, admin...)
	return launch(filepath.Join(fx.work, "edge.log"), nil, fx.edgeBin, args...)
}

func (fx *fixture) edgePlainBase() string { return "http://" + fx.edgePlain }

func (fx *fixture) startGoPeer(port int) (*exec.Cmd, error) {
	return launch(filepath.Join(fx.work, "goserver.log"), nil, fx.peerBin,
		"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-dir", fx.public, "-cert", fx.certFile, "-key", fx.keyFile)
}

func (fx *fixture) startHello(port int) (*exec.Cmd, error) {
	return launch(filepath.Join(fx.work, "hello.log"), nil, fx.peerBin, "-hello", "-addr", fmt.Sprintf("127.0.0.1:%d", port))
}

// nginx as packaged, tuned only as its docs advise for static files:
// sendfile, no access log, a worker per core.
const nginxConf = `worker_processes auto;
pid %[1]s/nginx.pid;
error_log stderr error;
%[5]s
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 100000000;
	keepalive_timeout 300s;
	sendfile on;
	tcp_nopush on;
	default_type application/octet-stream;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	server {
		listen 127.0.0.1:%[2]d ssl http2;
		ssl_certificate %[3]s;
		ssl_certificate_key %[4]s;
		root %[6]s;
	}
}
`

func (fx *fixture) startNginx(bin string, port int) (*exec.Cmd, error) {
	dir := filepath.Join(fx.work, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers must read the work directory
	}
	conf := fmt.Sprintf(nginxConf, dir, port, fx.certFile, fx.keyFile, user, fx.public)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return launch(filepath.Join(fx.work, "nginx.log"), nil, bin, "-p", dir, "-c", path, "-e", "stderr", "-g", "daemon off;")
}

// Caddy with its file server, the same certificate, h1, h2 and h3.
const caddyfile = `{
	admin off
	auto_https disable_redirects
	default_sni localhost
	storage file_system %[1]s
	servers {
		protocols h1 h2 h3
	}
}
https://127.0.0.1:%[2]d, https://localhost:%[2]d {
	bind 127.0.0.1
	tls %[3]s %[4]s
	root * %[5]s
	file_server
}
`

func (fx *fixture) startCaddy(bin string, port int) (*exec.Cmd, error) {
	dir := filepath.Join(fx.work, "caddy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "Caddyfile")
	conf := fmt.Sprintf(caddyfile, dir, port, fx.certFile, fx.keyFile, fx.public)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	env := []string{"HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	return launch(filepath.Join(fx.work, "caddy.log"), env, bin, "run", "--config", path, "--adapter", "caddyfile")
}
