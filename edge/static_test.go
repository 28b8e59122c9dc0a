package edge_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
)

// Secrets live outside the static root; no request may ever return them.
const (
	outsideSecret = "OUTSIDE-SECRET-7f3a"
	appDirSecret  = "APPDIR-SECRET-91bc"
)

var modTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

const siteManifest = `
name  = "site"
hosts = ["127.0.0.1", "localhost"]
[[routes]]
path          = "/..."
static        = "public"
cache_control = "public, max-age=60"
[[routes]]
path   = "/bare/..."
static = "bare"
[[routes]]
path          = "/robots.txt"
static        = "robots.txt"
cache_control = "no-cache"
`

// siteFiles is the app directory, by slash path.
var siteFiles = map[string]string{
	"edge.toml":              siteManifest,
	"secret.txt":             appDirSecret,
	"robots.txt":             "User-agent: *\n",
	"public/index.html":      "<!doctype html><h1>home</h1>",
	"public/style.css":       "body { color: red }",
	"public/app.js":          "console.log('hi')",
	"public/data.txt":        "0123456789abcdefghij",
	"public/404.html":        "<h1>custom not found</h1>",
	"public/docs/index.html": "<h1>docs</h1>",
	"public/docs/guide.html": "<h1>guide</h1>",
	"public/sub/plain.txt":   "no index here",
	"public/q?x/index.html":  "<h1>question</h1>",
	"bare/a.txt":             "bare file",
}

// site is an app served by a real Handler on a loopback listener.
type site struct {
	srv    *httptest.Server
	client *http.Client
	files  map[string][]byte // served content, by URL path
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(name, modTime, modTime); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

func startSite(t *testing.T) *site {
	t.Helper()
	tmp := t.TempDir()
	writeFile(t, filepath.Join(tmp, "secret.txt"), []byte(outsideSecret))
	dir := filepath.Join(tmp, "app")
	for name, data := range siteFiles {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), []byte(data))
	}
	logo := pngBytes(t)
	writeFile(t, filepath.Join(dir, "public", "logo.png"), logo)
	// Links that stay inside the static root are served as their target.
	symlink(t, "data.txt", filepath.Join(dir, "public", "link.txt"))
	symlink(t, "../data.txt", filepath.Join(dir, "public", "sub", "uplink.txt"))
	// A link to a directory is not followed: its files are not served.
	symlink(t, "docs", filepath.Join(dir, "public", "docslink"))

	ap, err := app.LoadAppDir(dir, app.LoadOptions{})
	if err != nil {
		t.Fatalf("LoadAppDir: %v", err)
	}
	router := edge.NewRouter()
	if err := router.Set([]*app.App{ap}); err != nil {
		t.Fatal(err)
	}
	h := edge.NewHandler(edge.HandlerConfig{Router: router, Log: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	files := map[string][]byte{"/logo.png": logo}
	for name, data := range siteFiles {
		if p, ok := strings.CutPrefix(name, "public/"); ok {
			files["/"+p] = []byte(data)
		}
	}
	files["/bare/a.txt"] = []byte(siteFiles["bare/a.txt"])
	files["/robots.txt"] = []byte(siteFiles["robots.txt"])
	return &site{srv: srv, client: client, files: files}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

var requestID = regexp.MustCompile(`^[0-9a-f]{16}$`)

// do sends one request through a real http.Client.
func (s *site) do(t *testing.T, method, path string, hdr ...string) *response {
	t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	if id := resp.Header.Get("X-Request-Id"); !requestID.MatchString(id) {
		t.Errorf("%s %s: X-Request-Id = %q, want 16 hex digits", method, path, id)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}
}

// raw sends a request line as written, bypassing the client's path
// cleaning, and returns the raw bytes of the response.
func (s *site) raw(t *testing.T, method, target string) []byte {
	t.Helper()
	addr := s.srv.Listener.Addr().String()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", method, target, addr); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, target, err)
	}
	return out
}

// rawGet sends a raw request and parses its response.
func (s *site) rawGet(t *testing.T, target string) *response {
	t.Helper()
	out := s.raw(t, http.MethodGet, target)
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
	if err != nil {
		t.Fatalf("GET %s: parse response %q: %v", target, out, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &response{status: resp.StatusCode, header: resp.Header, body: body}
}

func etagOf(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func TestStaticContent(t *testing.T) {
	s := startSite(t)
	tests := []struct {
		path, file, contentType, cacheControl string
	}{
		{"/", "/index.html", "text/html", "public, max-age=60"},
		{"/index.html", "/index.html", "text/html", "public, max-age=60"},
		{"/style.css", "/style.css", "text/css", "public, max-age=60"},
		{"/app.js", "/app.js", "javascript", "public, max-age=60"},
		{"/logo.png", "/logo.png", "image/png", "public, max-age=60"},
		{"/data.txt", "/data.txt", "text/plain", "public, max-age=60"},
		{"/docs/", "/docs/index.html", "text/html", "public, max-age=60"},
		{"/docs/guide.html", "/docs/guide.html", "text/html", "public, max-age=60"},
		{"/docs//guide.html", "/docs/guide.html", "text/html", "public, max-age=60"},
		{"/docs/./guide.html", "/docs/guide.html", "text/html", "public, max-age=60"},
		{"/link.txt", "/data.txt", "text/plain", "public, max-age=60"},
		{"/sub/uplink.txt", "/data.txt", "text/plain", "public, max-age=60"},
		{"/robots.txt", "/robots.txt", "text/plain", "no-cache"},
		{"/bare/a.txt", "/bare/a.txt", "text/plain", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			want := s.files[tt.file]
			if want == nil {
				t.Fatalf("no fixture %s", tt.file)
			}
			r := s.do(t, http.MethodGet, tt.path)
			if r.status != http.StatusOK {
				t.Fatalf("status %d, want 200 (body %q)", r.status, r.body)
			}
			if !bytes.Equal(r.body, want) {
				t.Errorf("body %q, want %q", r.body, want)
			}
			if ct := r.header.Get("Content-Type"); !strings.Contains(ct, tt.contentType) {
				t.Errorf("Content-Type %q, want %q", ct, tt.contentType)
			}
			if got, want := r.header.Get("ETag"), etagOf(want); got != want {
				t.Errorf("ETag %s, want %s", got, want)
			}
			if got, want := r.header.Get("Last-Modified"), modTime.Format(http.TimeFormat); got != want {
				t.Errorf("Last-Modified %q, want %q", got, want)
			}
			if got := r.header.Get("Cache-Control"); got != tt.cacheControl {
				t.Errorf("Cache-Control %q, want %q", got, tt.cacheControl)
			}
			if got, want := r.header.Get("Content-Length"), fmt.Sprint(len(want)); got != want {
				t.Errorf("Content-Length %s, want %s", got, want)
			}
		})
	}
}

func TestStaticConditional(t *testing.T) {
	s := startSite(t)
	data := s.files["/data.txt"]
	etag := etagOf(data)
	tests := []struct {
		name   string
		hdr    []string
		status int
	}{
		{"If-None-Match same", []string{"If-None-Match", etag}, http.StatusNotModified},
		{"If-None-Match weak", []string{"If-None-Match", "W/" + etag}, http.StatusNotModified},
		{"If-None-Match list", []string{"If-None-Match", `"other", ` + etag}, http.StatusNotModified},
		{"If-None-Match star", []string{"If-None-Match", "*"}, http.StatusNotModified},
		{"If-None-Match other", []string{"If-None-Match", `"other"`}, http.StatusOK},
		{"If-None-Match other content", []string{"If-None-Match", etagOf([]byte("0123456789"))}, http.StatusOK},
		{"If-Modified-Since same", []string{"If-Modified-Since", modTime.Format(http.TimeFormat)}, http.StatusNotModified},
		{"If-Modified-Since later", []string{"If-Modified-Since", modTime.Add(time.Hour).Format(http.TimeFormat)}, http.StatusNotModified},
		{"If-Modified-Since earlier", []string{"If-Modified-Since", modTime.Add(-time.Second).Format(http.TimeFormat)}, http.StatusOK},
		{"If-None-Match wins over If-Modified-Since", []string{
			"If-None-Match", `"other"`, "If-Modified-Since", modTime.Format(http.TimeFormat),
		}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, http.MethodGet, "/data.txt", tt.hdr...)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d", r.status, tt.status)
			}
			if tt.status == http.StatusOK {
				if !bytes.Equal(r.body, data) {
					t.Errorf("body %q, want %q", r.body, data)
				}
				return
			}
			if len(r.body) != 0 {
				t.Errorf("304 with body %q", r.body)
			}
			if got := r.header.Get("ETag"); got != etag {
				t.Errorf("304 ETag %q, want %q", got, etag)
			}
			if got := r.header.Get("Cache-Control"); got != "public, max-age=60" {
				t.Errorf("304 Cache-Control %q", got)
			}
		})
	}
}

func TestStaticRange(t *testing.T) {
	s := startSite(t)
	data := s.files["/data.txt"] // 20 bytes
	n := len(data)
	tests := []struct {
		name, rangeHdr string
		extra          []string
		status         int
		contentRange   string
		body           []byte
	}{
		{"prefix", "bytes=0-4", nil, http.StatusPartialContent, fmt.Sprintf("bytes 0-4/%d", n), data[:5]},
		{"middle", "bytes=10-12", nil, http.StatusPartialContent, fmt.Sprintf("bytes 10-12/%d", n), data[10:13]},
		{"suffix", "bytes=-3", nil, http.StatusPartialContent, fmt.Sprintf("bytes %d-%d/%d", n-3, n-1, n), data[n-3:]},
		{"open end", "bytes=15-", nil, http.StatusPartialContent, fmt.Sprintf("bytes 15-%d/%d", n-1, n), data[15:]},
		{"end past size", "bytes=18-100", nil, http.StatusPartialContent, fmt.Sprintf("bytes 18-%d/%d", n-1, n), data[18:]},
		{"unsatisfiable", "bytes=100-200", nil, http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("bytes */%d", n), nil},
		{"start at size", fmt.Sprintf("bytes=%d-", n), nil, http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("bytes */%d", n), nil},
		{"stale If-Range", "bytes=0-4", []string{"If-Range", `"stale"`}, http.StatusOK, "", data},
		{"fresh If-Range", "bytes=0-4", []string{"If-Range", etagOf(data)}, http.StatusPartialContent, fmt.Sprintf("bytes 0-4/%d", n), data[:5]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, http.MethodGet, "/data.txt", append([]string{"Range", tt.rangeHdr}, tt.extra...)...)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d (body %q)", r.status, tt.status, r.body)
			}
			if got := r.header.Get("Content-Range"); got != tt.contentRange {
				t.Errorf("Content-Range %q, want %q", got, tt.contentRange)
			}
			if tt.body != nil && !bytes.Equal(r.body, tt.body) {
				t.Errorf("body %q, want %q", r.body, tt.body)
			}
			if bytes.Contains(r.body, data) && tt.status == http.StatusRequestedRangeNotSatisfiable {
				t.Errorf("416 carries the file: %q", r.body)
			}
		})
	}

	t.Run("multiple ranges", func(t *testing.T) {
		r := s.do(t, http.MethodGet, "/data.txt", "Range", "bytes=0-1,4-5")
		if r.status != http.StatusPartialContent {
			t.Fatalf("status %d, want 206", r.status)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/byteranges") {
			t.Errorf("Content-Type %q, want multipart/byteranges", ct)
		}
		if !bytes.Contains(r.body, data[0:2]) || !bytes.Contains(r.body, data[4:6]) {
			t.Errorf("body %q lacks the parts", r.body)
		}
	})
}

func TestStaticHead(t *testing.T) {
	s := startSite(t)
	for _, path := range []string{"/data.txt", "/", "/logo.png"} {
		t.Run(path, func(t *testing.T) {
			want := s.files[path]
			if path == "/" {
				want = s.files["/index.html"]
			}
			out := s.raw(t, http.MethodHead, path)
			head, rest, ok := bytes.Cut(out, []byte("\r\n\r\n"))
			if !ok {
				t.Fatalf("no end of headers in %q", out)
			}
			if len(rest) != 0 {
				t.Errorf("HEAD response has a body: %q", rest)
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(append(head, "\r\n\r\n"...))), &http.Request{Method: http.MethodHead})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Length"); got != fmt.Sprint(len(want)) {
				t.Errorf("Content-Length %q, want %d", got, len(want))
			}
			if got := resp.Header.Get("ETag"); got != etagOf(want) {
				t.Errorf("ETag %q", got)
			}
			if !requestID.MatchString(resp.Header.Get("X-Request-Id")) {
				t.Errorf("X-Request-Id %q", resp.Header.Get("X-Request-Id"))
			}
		})
	}
}

func TestStaticDirectories(t *testing.T) {
	s := startSite(t)
	tests := []struct {
		path     string
		status   int
		location string
		body     string // file whose content is the body, for 200
	}{
		{"/", http.StatusOK, "", "/index.html"},
		{"/docs/", http.StatusOK, "", "/docs/index.html"},
		{"/docs", http.StatusMovedPermanently, "/docs/", ""},
		{"/docs?x=1&y=two", http.StatusMovedPermanently, "/docs/?x=1&y=two", ""},
		{"/sub", http.StatusMovedPermanently, "/sub/", ""},
		{"/sub/", http.StatusNotFound, "", ""},
		{"/bare", http.StatusNotFound, "", ""},
		{"/data.txt/", http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := s.do(t, http.MethodGet, tt.path)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d (body %q)", r.status, tt.status, r.body)
			}
			if got := r.header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if tt.body != "" && !bytes.Equal(r.body, s.files[tt.body]) {
				t.Errorf("body %q, want %q", r.body, s.files[tt.body])
			}
		})
	}
}

// TestStaticRedirectEscapes follows the redirect for a directory whose
// name needs escaping in a URL: the Location must lead back to it.
func TestStaticRedirectEscapes(t *testing.T) {
	s := startSite(t)
	r := s.rawGet(t, "/q%3Fx")
	if r.status != http.StatusMovedPermanently {
		t.Fatalf("status %d, want 301", r.status)
	}
	loc := r.header.Get("Location")
	if loc != "/q%3Fx/" {
		t.Fatalf("Location %q for directory \"q?x\" is not escaped; want \"/q%%3Fx/\"", loc)
	}
	if got := s.do(t, http.MethodGet, loc); got.status != http.StatusOK || !bytes.Equal(got.body, s.files["/q?x/index.html"]) {
		t.Errorf("following %s: status %d body %q", loc, got.status, got.body)
	}
}

func TestStaticNotFound(t *testing.T) {
	s := startSite(t)
	custom := s.files["/404.html"]
	tests := []struct {
		method, path string
		body         []byte // nil: the plain default page
	}{
		{http.MethodGet, "/missing.html", custom},
		{http.MethodGet, "/docs/missing.html", custom},
		{http.MethodGet, "/missing/deep/path.css", custom},
		{http.MethodGet, "/docslink/guide.html", custom},
		{http.MethodHead, "/missing.html", []byte{}},
		{http.MethodGet, "/bare/missing.txt", nil},
		{http.MethodGet, "/bare/", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			r := s.do(t, tt.method, tt.path)
			if r.status != http.StatusNotFound {
				t.Fatalf("status %d, want 404", r.status)
			}
			switch {
			case tt.body == nil:
				if !strings.Contains(string(r.body), "404 page not found") {
					t.Errorf("body %q, want the default page", r.body)
				}
			default:
				if !bytes.Equal(r.body, tt.body) {
					t.Errorf("body %q, want %q", r.body, tt.body)
				}
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("Content-Type %q, want text/html", ct)
				}
			}
		})
	}
}

func TestStaticMethodNotAllowed(t *testing.T) {
	s := startSite(t)
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		for _, path := range []string{"/data.txt", "/missing.html", "/robots.txt"} {
			t.Run(method+path, func(t *testing.T) {
				r := s.do(t, method, path)
				if r.status != http.StatusMethodNotAllowed {
					t.Fatalf("status %d, want 405", r.status)
				}
				if got := r.header.Get("Allow"); got != "GET, HEAD" {
					t.Errorf("Allow %q, want \"GET, HEAD\"", got)
				}
				if bytes.Contains(r.body, s.files["/data.txt"]) {
					t.Errorf("405 carries the file: %q", r.body)
				}
			})
		}
	}
}

func TestStaticTraversal(t *testing.T) {
	s := startSite(t)
	targets := []string{
		"/../secret.txt",
		"/../../secret.txt",
		"/%2e%2e/secret.txt",
		"/%2E%2E/%2e%2e/secret.txt",
		"/..%2fsecret.txt",
		"/..%2f..%2fsecret.txt",
		"/%2e%2e%2fsecret.txt",
		"/%2e%2e%2f%2e%2e%2fsecret.txt",
		"/docs/../../secret.txt",
		"/docs/%2e%2e/%2e%2e/secret.txt",
		"/bare/../../secret.txt",
		"/..\\secret.txt",
		"/%5c..%5csecret.txt",
		"/secret.txt",
		"/app/secret.txt",
		"/public/../secret.txt",
		"/%00",
		"/secret.txt%00",
		"/secret.txt%00.html",
		"/%2e%2e%00/secret.txt",
		"/..%00/secret.txt",
		"/data.txt%00../../secret.txt",
		"/link.txt/../../secret.txt",
		"../secret.txt",
		"secret.txt",
		"//secret.txt",
		"/.%2e/secret.txt",
		"/%252e%252e/secret.txt",
		"/./secret.txt",
		"/edge.toml",
		"/../edge.toml",
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			out := s.raw(t, http.MethodGet, target)
			if bytes.Contains(out, []byte(outsideSecret)) || bytes.Contains(out, []byte(appDirSecret)) ||
				bytes.Contains(out, []byte("[[routes]]")) {
				t.Fatalf("GET %s leaked a file outside the static root:\n%s", target, out)
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
			if err != nil {
				t.Fatalf("parse %q: %v", out, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusBadRequest {
				t.Errorf("GET %s: status %d, want 404 or 400", target, resp.StatusCode)
			}
		})
	}
}

// TestStaticSymlinkOutside: the app directory is opened as an os.Root, so
// a link out of it, to a file or a directory, fails the load and names the
// link. os.Root also refuses absolute links, even to a file inside.
func TestStaticSymlinkOutside(t *testing.T) {
	tests := []struct {
		name, link string
		target     func(tmp string) string
	}{
		{"relative file", "evil.txt", func(string) string { return "../../secret.txt" }},
		{"absolute file", "abs.txt", func(tmp string) string { return filepath.Join(tmp, "secret.txt") }},
		{"absolute file inside the app", "self.txt", func(tmp string) string { return filepath.Join(tmp, "app", "public", "ok.txt") }},
		{"relative directory", "evildir", func(string) string { return "../.." }},
		{"absolute directory", "etc", func(string) string { return "/etc" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			writeFile(t, filepath.Join(tmp, "secret.txt"), []byte(outsideSecret))
			dir := filepath.Join(tmp, "app")
			writeFile(t, filepath.Join(dir, "edge.toml"), []byte("name = \"s\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nstatic = \"public\"\n"))
			writeFile(t, filepath.Join(dir, "public", "ok.txt"), []byte("ok"))
			symlink(t, tt.target(tmp), filepath.Join(dir, "public", tt.link))

			ap, err := app.LoadAppDir(dir, app.LoadOptions{})
			if err == nil {
				t.Fatalf("LoadAppDir accepted a link out of the static root: %+v", ap)
			}
			for _, want := range []string{"edge.toml", "routes[0]", "static", tt.link} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestRequestIDs(t *testing.T) {
	s := startSite(t)
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		r := s.do(t, http.MethodGet, "/data.txt")
		id := r.header.Get("X-Request-Id")
		if seen[id] {
			t.Fatalf("request id %q repeated", id)
		}
		seen[id] = true
	}
	// Every kind of answer carries one (do checks it).
	s.do(t, http.MethodGet, "/docs")
	s.do(t, http.MethodGet, "/missing")
	s.do(t, http.MethodPost, "/")
	s.do(t, http.MethodGet, "/data.txt", "Range", "bytes=99-")
	s.do(t, http.MethodGet, "/data.txt", "If-None-Match", etagOf(s.files["/data.txt"]))
	for _, target := range []string{"/../secret.txt", "/%00"} {
		if r := s.rawGet(t, target); !requestID.MatchString(r.header.Get("X-Request-Id")) {
			t.Errorf("GET %s: X-Request-Id %q", target, r.header.Get("X-Request-Id"))
		}
	}
}

func TestUnknownHost(t *testing.T) {
	s := startSite(t)
	for _, host := range []string{"nobody.test", "nobody.test:8080", "127.0.0.2"} {
		t.Run(host, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, s.srv.URL+"/data.txt", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = host
			resp, err := s.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d, want 404", resp.StatusCode)
			}
			if bytes.Contains(body, s.files["/data.txt"]) {
				t.Errorf("unknown host got the file")
			}
			if !strings.Contains(string(body), "no app is deployed") {
				t.Errorf("body %q", body)
			}
			if !requestID.MatchString(resp.Header.Get("X-Request-Id")) {
				t.Errorf("X-Request-Id %q", resp.Header.Get("X-Request-Id"))
			}
		})
	}
	// The same app answers by its other name and in any case.
	for _, host := range []string{"localhost", "LOCALHOST", "localhost."} {
		t.Run(host, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/data.txt", nil)
			req.Host = host
			resp, err := s.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d, want 200", resp.StatusCode)
			}
		})
	}
}

func TestLoadAppErrors(t *testing.T) {
	const head = "name = \"demo\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\n"
	tests := []struct {
		name string
		fsys fstest.MapFS
		opt  app.LoadOptions
		want []string
	}{
		{
			name: "no manifest",
			fsys: fstest.MapFS{"public/a.txt": {Data: []byte("a")}},
			want: []string{"mem/edge.toml", "cannot read"},
		},
		{
			name: "missing static directory",
			fsys: fstest.MapFS{"edge.toml": {Data: []byte(head + "static = \"public\"\n")}},
			want: []string{"mem/edge.toml", "routes[0]", "static", "public"},
		},
		{
			name: "static outside the app",
			fsys: fstest.MapFS{"edge.toml": {Data: []byte(head + "static = \"../public\"\n")}},
			want: []string{"mem/edge.toml", "routes[0]", "static", "relative path inside the app directory"},
		},
		{
			name: "absolute static",
			fsys: fstest.MapFS{"edge.toml": {Data: []byte(head + "static = \"/etc\"\n")}},
			want: []string{"mem/edge.toml", "routes[0]", "static", "relative path inside the app directory"},
		},
		{
			name: "static over the memory budget",
			fsys: fstest.MapFS{
				"edge.toml":    {Data: []byte(head + "static = \"public\"\n")},
				"public/a.txt": {Data: []byte("0123456789")},
			},
			opt:  app.LoadOptions{MaxStaticBytes: 5},
			want: []string{"mem/edge.toml", "routes[0]", "static", "a.txt", "in-memory limit"},
		},
		{
			name: "missing module",
			fsys: fstest.MapFS{"edge.toml": {Data: []byte(head + "module = \"hello.wasm\"\n")}},
			want: []string{"mem/edge.toml", "routes[0]", "module", "hello.wasm"},
		},
		{
			name: "module outside the app",
			fsys: fstest.MapFS{"edge.toml": {Data: []byte(head + "module = \"../hello.wasm\"\n")}},
			want: []string{"mem/edge.toml", "routes[0]", "module", "relative path inside the app directory"},
		},
		{
			name: "module without an engine",
			fsys: fstest.MapFS{
				"edge.toml":  {Data: []byte(head + "module = \"hello.wasm\"\n")},
				"hello.wasm": {Data: []byte("\x00asm\x01\x00\x00\x00")},
			},
			want: []string{"mem/edge.toml", "routes[0]", "module", "engine"},
		},
		{
			name: "invalid manifest",
			fsys: fstest.MapFS{"edge.toml": {Data: []byte("name = \"demo\"\n")}},
			want: []string{"mem/edge.toml", "hosts"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ap, err := app.LoadApp(tt.fsys, "mem", tt.opt)
			if err == nil {
				t.Fatalf("LoadApp succeeded: %+v", ap)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
