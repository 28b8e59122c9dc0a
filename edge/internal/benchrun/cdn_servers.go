package main

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"

	mrand "math/rand/v2"
)

// cdnObject is the cached object's path on every cache; the node's own
// static copy of the same bytes is at smallFile.
const cdnObject = "/cdn/4k.bin"

// cdnOrigin is the origin every cache sits in front of: plain HTTP/1.1
// in this process, one 4 KiB object at any path, cacheable for an hour.
// It counts its requests, so the bench can show that the loads were
// served from the caches and not passed through.
type cdnOrigin struct {
	addr     string
	requests atomic.Int64
	srv      *http.Server
}

func startCDNOrigin(body []byte) (*cdnOrigin, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	o := &cdnOrigin{addr: ln.Addr().String()}
	etag := fmt.Sprintf(`"%x"`, sha256.Sum256(body))
	o.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})}
	go func() { _ = o.srv.Serve(ln) }()
	return o, nil
}

// cdnFixture holds the node's app for the cache rows: an origin route for
// /cdn/ and the static 4 KiB file (the node's own static row, in the same
// process), and the work directories of nginx and Varnish.
type cdnFixture struct {
	fixture
	origin *cdnOrigin
}

// cdnApp is the node's edge.toml: %d is the origin's port.
const cdnApp = `name = "cdn"
hosts = ["*"]

[[routes]]
path   = "/cdn/..."
origin = "http://%s"

[[routes]]
path   = "/..."
static = "public"
`

func newCDNFixture(fx *fixture) (*cdnFixture, error) {
	cf := &cdnFixture{fixture: *fx}
	cf.work = filepath.Join(fx.work, "cdn")
	cf.appDir = filepath.Join(cf.work, "app")
	cf.public = filepath.Join(cf.appDir, "public")
	cf.edgeData = filepath.Join(cf.work, "edge-data")
	if err := os.MkdirAll(cf.public, 0o755); err != nil {
		return nil, err
	}
	body := make([]byte, 4<<10)
	_, _ = mrand.NewChaCha8([32]byte{15}).Read(body)
	if err := os.WriteFile(filepath.Join(cf.public, smallFile), body, 0o644); err != nil {
		return nil, err
	}
	o, err := startCDNOrigin(body)
	if err != nil {
		return nil, fmt.Errorf("cdn origin: %w", err)
	}
	cf.origin = o
	if err := os.WriteFile(filepath.Join(cf.appDir, "edge.toml"), []byte(fmt.Sprintf(cdnApp, o.addr)), 0o644); err != nil {
		return nil, err
	}
	// The node's TLS comes from the same dev CA as the static rows'.
	if err := os.CopyFS(filepath.Join(cf.edgeData, "tls"), os.DirFS(filepath.Join(fx.edgeData, "tls"))); err != nil {
		return nil, fmt.Errorf("cdn: copy the dev CA: %w", err)
	}
	return cf, nil
}

// startEdge runs the node with its default HTTP cache (256 MiB memory
// tier), on HTTPS (h1, h2) and plain HTTP (h1, to compare with Varnish).
func (cf *cdnFixture) startEdge(tlsPort, plainPort int) (*exec.Cmd, error) {
	admin, err := edgeAdminArgs()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--data", cf.edgeData, "--app", cf.appDir, "--log-level", "warn",
		"--http", fmt.Sprintf("127.0.0.1:%d", plainPort), "--https", fmt.Sprintf("127.0.0.1:%d", tlsPort)}, admin...)
	return launch(filepath.Join(cf.work, "edge.log"), nil, cf.edgeBin, args...)
}

// nginx with proxy_cache in front of the origin, configured as its docs
// advise for a caching proxy: a keys zone, the cache files beside it, a
// keep-alive upstream pool; HTTPS (h1, h2) and plain HTTP (h1).
const nginxCacheConf = `worker_processes auto;
pid %[1]s/nginx.pid;
error_log stderr error;
%[5]s
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 100000000;
	keepalive_timeout 300s;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	proxy_cache_path %[1]s/cache levels=1:2 keys_zone=bench:10m max_size=64m inactive=1h use_temp_path=off;
	upstream origin {
		server %[6]s;
		keepalive 32;
	}
	server {
		listen 127.0.0.1:%[2]d ssl http2;
		listen 127.0.0.1:%[7]d;
		ssl_certificate %[3]s;
		ssl_certificate_key %[4]s;
		location / {
			proxy_pass http://origin;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_cache bench;
			add_header X-Cache $upstream_cache_status;
		}
	}
}
`

func (cf *cdnFixture) startNginx(bin string, tlsPort, plainPort int) (*exec.Cmd, error) {
	dir := filepath.Join(cf.work, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers must write the cache in the work directory
	}
	conf := fmt.Sprintf(nginxCacheConf, dir, tlsPort, cf.certFile, cf.keyFile, user, cf.origin.addr, plainPort)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return launch(filepath.Join(cf.work, "nginx.log"), nil, bin, "-p", dir, "-c", path, "-e", "stderr", "-g", "daemon off;")
}

// startVarnish runs varnishd in the foreground with its built-in VCL in
// front of the origin, a 64 MiB malloc store, no jail (the work directory
// belongs to whoever runs the bench). Varnish has no TLS: plain HTTP/1.1
// only, so it has no h2 or TLS rows.
func (cf *cdnFixture) startVarnish(bin string, _, plainPort int) (*exec.Cmd, error) {
	dir := filepath.Join(cf.work, "varnish")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return launch(filepath.Join(cf.work, "varnish.log"), nil, bin, "-F", "-j", "none",
		"-a", fmt.Sprintf("127.0.0.1:%d", plainPort), "-b", cf.origin.addr,
		"-n", dir, "-s", "malloc,64m")
}
