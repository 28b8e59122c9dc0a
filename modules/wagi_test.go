package modules_test

import (
	"context"
	"crypto/tls"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/modules/examples"
)

// watEnv prints its whole environment as the body of a CGI response: one
// KEY=VALUE per line, in the order environ_get returns them.
const watEnv = `(module
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  ;; 0: count, 4: size of the strings, 16: an iovec, 32: nwritten,
  ;; 64: the header, 4096: the pointer array, 65536: the strings.
  (memory (export "memory") 4)
  (data (i32.const 64) "Content-Type: text/plain\n\n")
  ;; write_all writes [ptr, ptr+len) to stdout, however short each write is.
  (func $write_all (param $ptr i32) (param $len i32)
    (block $done
      (loop $more
        (br_if $done (i32.eqz (local.get $len)))
        (i32.store (i32.const 16) (local.get $ptr))
        (i32.store (i32.const 20) (local.get $len))
        (if (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 32)) (then unreachable))
        (local.set $ptr (i32.add (local.get $ptr) (i32.load (i32.const 32))))
        (local.set $len (i32.sub (local.get $len) (i32.load (i32.const 32))))
        (br $more))))
  (func (export "_start")
    (local $i i32) (local $end i32)
    (if (call $sizes (i32.const 0) (i32.const 4)) (then unreachable))
    (if (i32.gt_u (i32.load (i32.const 0)) (i32.const 15360)) (then unreachable))
    (if (i32.gt_u (i32.load (i32.const 4)) (i32.const 196608)) (then unreachable))
    (if (call $get (i32.const 4096) (i32.const 65536)) (then unreachable))
    ;; Each entry ends in NUL: make it a newline.
    (local.set $i (i32.const 65536))
    (local.set $end (i32.add (i32.const 65536) (i32.load (i32.const 4))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (if (i32.eqz (i32.load8_u (local.get $i)))
          (then (i32.store8 (local.get $i) (i32.const 10))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $write_all (i32.const 64) (i32.const 26))
    (call $write_all (i32.const 65536) (i32.load (i32.const 4)))))`

// wagiRequest describes the request a WAGI test sends.
type wagiRequest struct {
	method string
	target string // path and query
	host   string // r.Host; "example.com" when empty
	remote string // r.RemoteAddr; httptest's "192.0.2.1:1234" when empty
	tls    bool
	proto  string // "HTTP/1.1" when empty
	header http.Header
	body   string
}

func (w wagiRequest) build(t testing.TB) *http.Request {
	t.Helper()
	method := w.method
	if method == "" {
		method = http.MethodGet
	}
	r := httptest.NewRequest(method, w.target, strings.NewReader(w.body))
	r.Host = "example.com"
	if w.host != "" {
		r.Host = w.host
	}
	if w.remote != "" {
		r.RemoteAddr = w.remote
	}
	r.TLS = nil
	if w.tls {
		r.TLS = &tls.ConnectionState{}
	}
	if w.proto != "" {
		r.Proto = w.proto
		r.ProtoMajor, r.ProtoMinor, _ = http.ParseHTTPVersion(w.proto)
	}
	for k, v := range w.header {
		r.Header[k] = v
	}
	return r
}

// envMap turns a command's env into a map, failing on a repeated name: a
// guest's getenv would see only one of the two.
func envMap(t testing.TB, env [][2]string) map[string]string {
	t.Helper()
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if old, ok := m[kv[0]]; ok {
			t.Errorf("%s set twice: %q and %q", kv[0], old, kv[1])
		}
		m[kv[0]] = kv[1]
	}
	return m
}

func TestWAGICommand(t *testing.T) {
	hello := modules.WAGIRoute{Pattern: "/api/hello", Module: "hello.wasm", ServerSoftware: "edge/test"}
	api := modules.WAGIRoute{Pattern: "/api/...", Module: "api.wasm"}
	root := modules.WAGIRoute{Pattern: "/...", Module: "site.wasm"}
	tests := []struct {
		name   string
		req    wagiRequest
		route  modules.WAGIRoute
		want   map[string]string // variables with their exact values
		absent []string          // variables that must not be set
		args   []string
	}{
		{
			name:  "exact route",
			req:   wagiRequest{target: "/api/hello?name=world"},
			route: hello,
			want: map[string]string{
				"REQUEST_METHOD":    "GET",
				"PATH_INFO":         "",
				"PATH_TRANSLATED":   "",
				"X_RAW_PATH_INFO":   "",
				"SCRIPT_NAME":       "/api/hello",
				"QUERY_STRING":      "name=world",
				"SERVER_NAME":       "example.com",
				"SERVER_PORT":       "80",
				"SERVER_PROTOCOL":   "HTTP/1.1",
				"SERVER_SOFTWARE":   "edge/test",
				"CONTENT_TYPE":      "",
				"CONTENT_LENGTH":    "0",
				"REMOTE_ADDR":       "192.0.2.1",
				"REMOTE_HOST":       "192.0.2.1",
				"AUTH_TYPE":         "",
				"REMOTE_USER":       "",
				"GATEWAY_INTERFACE": "CGI/1.1",
				"X_MATCHED_ROUTE":   "/api/hello",
				"X_FULL_URL":        "http://example.com/api/hello?name=world",
			},
			args: []string{"hello.wasm", "name=world"},
		},
		{
			name: "wildcard with an escaped slash",
			req: wagiRequest{
				method: http.MethodPost,
				target: "/api/a%2Fb",
				header: http.Header{"Content-Type": {"application/json"}},
				body:   `{"a":1}`,
			},
			route: api,
			want: map[string]string{
				"REQUEST_METHOD":  "POST",
				"PATH_INFO":       "/a/b",
				"PATH_TRANSLATED": "/a/b",
				"X_RAW_PATH_INFO": "/a%2Fb",
				"SCRIPT_NAME":     "/api",
				"QUERY_STRING":    "",
				"CONTENT_TYPE":    "application/json",
				"CONTENT_LENGTH":  "7",
				"X_MATCHED_ROUTE": "/api/...",
				"X_FULL_URL":      "http://example.com/api/a%2Fb",
			},
			args: []string{"api.wasm"},
		},
		{
			name:  "wildcard at its own prefix",
			req:   wagiRequest{method: http.MethodDelete, target: "/api"},
			route: api,
			want: map[string]string{
				"REQUEST_METHOD":  "DELETE",
				"PATH_INFO":       "",
				"X_RAW_PATH_INFO": "",
				"SCRIPT_NAME":     "/api",
			},
			args: []string{"api.wasm"},
		},
		{
			name:  "wildcard deeper path",
			req:   wagiRequest{target: "/api/v1/users/42?fields=name"},
			route: api,
			want: map[string]string{
				"PATH_INFO":       "/v1/users/42",
				"X_RAW_PATH_INFO": "/v1/users/42",
				"SCRIPT_NAME":     "/api",
				"QUERY_STRING":    "fields=name",
				"X_FULL_URL":      "http://example.com/api/v1/users/42?fields=name",
			},
			args: []string{"api.wasm", "fields=name"},
		},
		{
			name:  "root wildcard",
			req:   wagiRequest{target: "/docs/a%20b.html"},
			route: root,
			want: map[string]string{
				"PATH_INFO":       "/docs/a b.html",
				"X_RAW_PATH_INFO": "/docs/a%20b.html",
				"SCRIPT_NAME":     "",
				"X_MATCHED_ROUTE": "/...",
				"X_FULL_URL":      "http://example.com/docs/a%20b.html",
			},
			args: []string{"site.wasm"},
		},
		{
			name:  "root wildcard at the root",
			req:   wagiRequest{target: "/"},
			route: root,
			want:  map[string]string{"PATH_INFO": "/", "X_RAW_PATH_INFO": "/", "SCRIPT_NAME": ""},
			args:  []string{"site.wasm"},
		},
		{
			name:  "http explicit port",
			req:   wagiRequest{target: "/api/hello", host: "example.com:8080"},
			route: hello,
			want: map[string]string{
				"SERVER_NAME": "example.com",
				"SERVER_PORT": "8080",
				"X_FULL_URL":  "http://example.com:8080/api/hello",
			},
			args: []string{"hello.wasm"},
		},
		{
			name:  "https default port",
			req:   wagiRequest{target: "/api/hello?x=1", tls: true},
			route: hello,
			want: map[string]string{
				"SERVER_NAME": "example.com",
				"SERVER_PORT": "443",
				"X_FULL_URL":  "https://example.com/api/hello?x=1",
			},
			args: []string{"hello.wasm", "x=1"},
		},
		{
			name:  "https explicit port",
			req:   wagiRequest{target: "/api/hello", host: "cdn.example.net:8443", tls: true},
			route: hello,
			want: map[string]string{
				"SERVER_NAME": "cdn.example.net",
				"SERVER_PORT": "8443",
				"X_FULL_URL":  "https://cdn.example.net:8443/api/hello",
			},
			args: []string{"hello.wasm"},
		},
		{
			name: "ipv6 host and client",
			req: wagiRequest{
				target: "/api/hello",
				host:   "[::1]:8443",
				remote: "[2001:db8::7]:51000",
				tls:    true,
			},
			route: hello,
			want: map[string]string{
				"SERVER_NAME": "::1",
				"SERVER_PORT": "8443",
				"REMOTE_ADDR": "2001:db8::7",
				"REMOTE_HOST": "2001:db8::7",
				"X_FULL_URL":  "https://[::1]:8443/api/hello",
			},
			args: []string{"hello.wasm"},
		},
		{
			name:  "remote address without a port",
			req:   wagiRequest{target: "/api/hello", remote: "198.51.100.9"},
			route: hello,
			want:  map[string]string{"REMOTE_ADDR": "198.51.100.9"},
			args:  []string{"hello.wasm"},
		},
		{
			name:  "http/1.0",
			req:   wagiRequest{method: http.MethodHead, target: "/api/hello", proto: "HTTP/1.0"},
			route: hello,
			want:  map[string]string{"REQUEST_METHOD": "HEAD", "SERVER_PROTOCOL": "HTTP/1.0"},
			args:  []string{"hello.wasm"},
		},
		{
			name: "headers",
			req: wagiRequest{
				method: http.MethodPut,
				target: "/api/hello",
				header: http.Header{
					"X-Forwarded-For":     {"203.0.113.1", "198.51.100.2"},
					"Accept":              {"text/html"},
					"User-Agent":          {"curl/8.5.0"},
					"X-Custom-Thing":      {"v=1; w=2"},
					"Content-Type":        {"text/plain; charset=utf-8"},
					"Authorization":       {"Bearer secret-token"},
					"Proxy-Authorization": {"Basic c2VjcmV0"},
					"Connection":          {"keep-alive"},
				},
				body: "héllo",
			},
			route: hello,
			want: map[string]string{
				"HTTP_X_FORWARDED_FOR": "203.0.113.1, 198.51.100.2",
				"HTTP_ACCEPT":          "text/html",
				"HTTP_USER_AGENT":      "curl/8.5.0",
				"HTTP_X_CUSTOM_THING":  "v=1; w=2",
				"HTTP_CONTENT_TYPE":    "text/plain; charset=utf-8",
				"CONTENT_TYPE":         "text/plain; charset=utf-8",
				"CONTENT_LENGTH":       "6",
			},
			absent: []string{"HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION", "HTTP_CONNECTION"},
			args:   []string{"hello.wasm"},
		},
		{
			name: "withheld headers: httpoxy and underscore spoofing",
			req: wagiRequest{
				target: "/api/hello",
				header: http.Header{
					"X-Forwarded-For": {"1.1.1.1"},
					"X_forwarded_for": {"6.6.6.6"},
					"Proxy":           {"http://evil.example:8080"},
				},
			},
			route:  hello,
			want:   map[string]string{"HTTP_X_FORWARDED_FOR": "1.1.1.1", "HTTP_HOST": "example.com"},
			absent: []string{"HTTP_PROXY"},
			args:   []string{"hello.wasm"},
		},
		{
			name:  "raw path spelling the prefix differently",
			req:   wagiRequest{target: "/%61pi/x%2Fy"},
			route: api,
			want:  map[string]string{"PATH_INFO": "/x/y", "X_RAW_PATH_INFO": "/x%2Fy", "SCRIPT_NAME": "/api"},
			args:  []string{"api.wasm"},
		},
		{
			name:  "bracketed IPv6 host without a port",
			req:   wagiRequest{target: "/api/hello", host: "[::1]"},
			route: hello,
			want:  map[string]string{"SERVER_NAME": "::1", "SERVER_PORT": "80", "HTTP_HOST": "[::1]"},
			args:  []string{"hello.wasm"},
		},
		{
			name: "route env verbatim",
			req:  wagiRequest{target: "/api/hello"},
			route: modules.WAGIRoute{Pattern: "/api/hello", Module: "hello.wasm", Env: map[string]string{
				"GREETING":     "Hi there",
				"EMPTY":        "",
				"DSN":          "host=db;opts=a=b&c=d",
				"lower_case":   "  spaced  ",
				"UNICODE_TEXT": "grüße ✓",
			}},
			want: map[string]string{
				"GREETING":     "Hi there",
				"EMPTY":        "",
				"DSN":          "host=db;opts=a=b&c=d",
				"lower_case":   "  spaced  ",
				"UNICODE_TEXT": "grüße ✓",
			},
			args: []string{"hello.wasm"},
		},
		{
			name:  "argv from the query",
			req:   wagiRequest{target: "/api/hello?name=J%C3%BCrgen&x+y&flag&a%3Db&bad%zz&&last=%26"},
			route: hello,
			want:  map[string]string{"QUERY_STRING": "name=J%C3%BCrgen&x+y&flag&a%3Db&bad%zz&&last=%26"},
			args:  []string{"hello.wasm", "name=Jürgen", "x y", "flag", "a=b", "bad%zz", "", "last=&"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req.build(t)
			cmd := modules.WAGICommand(r, &tt.route, []byte(tt.req.body))
			env := envMap(t, cmd.Environ())
			for k, want := range tt.want {
				got, ok := env[k]
				if !ok {
					t.Errorf("%s not set, want %q", k, want)
				} else if got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			for _, k := range tt.absent {
				if v, ok := env[k]; ok {
					t.Errorf("%s = %q is passed to the guest", k, v)
				}
			}
			// Always true, whatever the request.
			always := map[string]string{
				"GATEWAY_INTERFACE": "CGI/1.1",
				"CONTENT_LENGTH":    strconv.Itoa(len(tt.req.body)),
				"X_MATCHED_ROUTE":   tt.route.Pattern,
				"REQUEST_METHOD":    r.Method,
				"SERVER_PROTOCOL":   r.Proto,
			}
			for k, want := range always {
				if env[k] != want {
					t.Errorf("%s = %q, want %q", k, env[k], want)
				}
			}
			for k, v := range env {
				if strings.Contains(v, "secret") || strings.Contains(v, "c2VjcmV0") {
					t.Errorf("%s = %q leaks a credential", k, v)
				}
			}
			if !slices.Equal(cmd.Argv(), tt.args) {
				t.Errorf("Args = %q, want %q", cmd.Argv(), tt.args)
			}
			if string(cmd.Stdin) != tt.req.body {
				t.Errorf("Stdin = %q, want %q", cmd.Stdin, tt.req.body)
			}
		})
	}
}

// TestWAGICommandEnvOrder pins the layout of the env: the CGI variables,
// then HTTP_* sorted, then the route's env sorted; the same request always
// gives the same env, whatever the map iteration order.
func TestWAGICommandEnvOrder(t *testing.T) {
	req := wagiRequest{
		method: http.MethodPost,
		target: "/api/x?q=1",
		header: http.Header{
			"Zeta": {"z"}, "Accept": {"*/*"}, "X-B": {"b"}, "X-A": {"a"}, "Content-Type": {"text/plain"},
			"Accept-Language": {"en", "fr"}, "Authorization": {"Basic x"},
		},
		body: "abc",
	}
	route := &modules.WAGIRoute{
		Pattern: "/api/...", Module: "m.wasm", ServerSoftware: "edge",
		Env: map[string]string{"Z": "26", "A": "1", "M": "13"},
	}
	want := [][2]string{
		{"AUTH_TYPE", ""},
		{"CONTENT_LENGTH", "3"},
		{"CONTENT_TYPE", "text/plain"},
		{"GATEWAY_INTERFACE", "CGI/1.1"},
		{"PATH_INFO", "/x"},
		{"PATH_TRANSLATED", "/x"},
		{"QUERY_STRING", "q=1"},
		{"REMOTE_ADDR", "192.0.2.1"},
		{"REMOTE_HOST", "192.0.2.1"},
		{"REMOTE_USER", ""},
		{"REQUEST_METHOD", "POST"},
		{"SCRIPT_NAME", "/api"},
		{"SERVER_NAME", "example.com"},
		{"SERVER_PORT", "80"},
		{"SERVER_PROTOCOL", "HTTP/1.1"},
		{"SERVER_SOFTWARE", "edge"},
		{"X_FULL_URL", "http://example.com/api/x?q=1"},
		{"X_MATCHED_ROUTE", "/api/..."},
		{"X_RAW_PATH_INFO", "/x"},
		{"HTTP_ACCEPT", "*/*"},
		{"HTTP_ACCEPT_LANGUAGE", "en, fr"},
		{"HTTP_CONTENT_TYPE", "text/plain"},
		{"HTTP_HOST", "example.com"},
		{"HTTP_X_A", "a"},
		{"HTTP_X_B", "b"},
		{"HTTP_ZETA", "z"},
		{"A", "1"},
		{"M", "13"},
		{"Z", "26"},
	}
	for i := range 20 {
		cmd := modules.WAGICommand(req.build(t), route, []byte(req.body))
		if !reflect.DeepEqual(cmd.Environ(), want) {
			t.Fatalf("run %d: Env =\n%q\nwant\n%q", i, cmd.Environ(), want)
		}
	}
}

// TestRunWAGIGuestEnv runs a guest that prints its environment: it must see
// exactly the command's env, in order, and nothing of the host's.
func TestRunWAGIGuestEnv(t *testing.T) {
	t.Setenv("EDGE_HOST_SECRET", "must-not-leak")
	e := newEngine(t)
	m := compile(t, e, watEnv)
	tests := []struct {
		name  string
		req   wagiRequest
		route modules.WAGIRoute
		want  map[string]string
	}{
		{
			name:  "exact route",
			req:   wagiRequest{target: "/api/env?a=1&b=2"},
			route: modules.WAGIRoute{Pattern: "/api/env", Module: "env.wasm"},
			want: map[string]string{
				"REQUEST_METHOD":  "GET",
				"QUERY_STRING":    "a=1&b=2",
				"SCRIPT_NAME":     "/api/env",
				"PATH_INFO":       "",
				"X_MATCHED_ROUTE": "/api/env",
			},
		},
		{
			name: "wildcard with headers, body and route env",
			req: wagiRequest{
				method: http.MethodPost,
				target: "/api/a%2Fb",
				host:   "[::1]:8443",
				tls:    true,
				header: http.Header{
					"X-Forwarded-For": {"203.0.113.1", "198.51.100.2"},
					"Content-Type":    {"application/json"},
					"Authorization":   {"Bearer hidden"},
				},
				body: `{"k":"v"}`,
			},
			route: modules.WAGIRoute{Pattern: "/api/...", Module: "env.wasm", Env: map[string]string{"GREETING": "Hi = there"}},
			want: map[string]string{
				"REQUEST_METHOD":       "POST",
				"PATH_INFO":            "/a/b",
				"X_RAW_PATH_INFO":      "/a%2Fb",
				"SERVER_NAME":          "::1",
				"SERVER_PORT":          "8443",
				"CONTENT_TYPE":         "application/json",
				"CONTENT_LENGTH":       "9",
				"HTTP_X_FORWARDED_FOR": "203.0.113.1, 198.51.100.2",
				"X_FULL_URL":           "https://[::1]:8443/api/a%2Fb",
				"GREETING":             "Hi = there",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := modules.WAGICommand(tt.req.build(t), &tt.route, []byte(tt.req.body))
			resp, out, err := e.RunWAGI(context.Background(), m, cmd, modules.Limits{})
			if err != nil {
				t.Fatalf("RunWAGI: %v (stderr %q)", err, out.Stderr)
			}
			if resp.Status != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain" {
				t.Errorf("status %d, Content-Type %q; want 200 text/plain", resp.Status, resp.Header.Get("Content-Type"))
			}
			lines := strings.Split(strings.TrimSuffix(string(resp.Body), "\n"), "\n")
			var seen [][2]string
			for _, line := range lines {
				k, v, ok := strings.Cut(line, "=")
				if !ok {
					t.Fatalf("guest env line %q has no '=' in body:\n%q", line, resp.Body)
				}
				seen = append(seen, [2]string{k, v})
			}
			if !reflect.DeepEqual(seen, cmd.Environ()) {
				t.Errorf("guest saw env\n%q\nwant\n%q", seen, cmd.Environ())
			}
			env := envMap(t, seen)
			for k, want := range tt.want {
				if got, ok := env[k]; !ok || got != want {
					t.Errorf("guest sees %s = %q (set: %v), want %q", k, got, ok, want)
				}
			}
			for _, k := range []string{"PATH", "HOME", "EDGE_HOST_SECRET", "HTTP_AUTHORIZATION"} {
				if v, ok := env[k]; ok {
					t.Errorf("guest sees %s = %q", k, v)
				}
			}
			if strings.Contains(string(resp.Body), "must-not-leak") || strings.Contains(string(resp.Body), "hidden") {
				t.Errorf("guest env leaks a host or credential value:\n%s", resp.Body)
			}
		})
	}
}

// TestRunWAGIDemoGuests runs the committed demo guests the way the demo
// app routes them. The C and Go guests are documented to answer alike.
func TestRunWAGIDemoGuests(t *testing.T) {
	e := newEngine(t)
	t.Run("allocations", func(t *testing.T) { testRunWAGIAllocs(t, e) })
	long := strings.Repeat("n", 300)
	tests := []struct {
		name, query, greeting, want string
	}{
		{"no query", "", "", "Hello, world!"},
		{"name", "name=edge", "", "Hello, edge!"},
		{"route greeting", "name=edge", "Howdy", "Howdy, edge!"},
		{"decoded", "x=1&name=J%C3%BCrgen+M", "", "Hello, Jürgen M!"},
		{"empty name", "name=", "", "Hello, world!"},
		{"first name wins", "name=&name=bob", "", "Hello, world!"},
		{"bad escape skipped", "name=%zz&name=ok", "", "Hello, ok!"},
		{"truncated escape", "name=a%2", "", "Hello, world!"},
		{"other keys", "nam=x&names=y", "", "Hello, world!"},
		{"capped at 256 bytes", "name=" + long, "", "Hello, " + long[:256] + "!"},
	}
	guests := []struct {
		file, suffix string
		memory       int64
		slow         bool
	}{
		{"hello.wasm", " (from C)\n", 16 << 20, false},
		{"hello-go.wasm", " (from Go)\n", 64 << 20, true},
	}
	for _, g := range guests {
		t.Run(g.file, func(t *testing.T) {
			if g.slow && testing.Short() {
				t.Skip("compiling the Go guest takes seconds")
			}
			m := compileDemo(t, e, g.file)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					route := &modules.WAGIRoute{Pattern: "/api/hello", Module: g.file}
					if tt.greeting != "" {
						route.Env = map[string]string{"GREETING": tt.greeting}
					}
					r := httptest.NewRequest(http.MethodGet, "/api/hello?"+tt.query, nil)
					resp, out, err := e.RunWAGI(context.Background(), m, modules.WAGICommand(r, route, nil), modules.Limits{Memory: g.memory})
					if err != nil {
						t.Fatalf("RunWAGI: %v (stderr %q)", err, out.Stderr)
					}
					if ct := resp.Header.Get("Content-Type"); resp.Status != 200 || ct != "text/plain; charset=utf-8" {
						t.Errorf("status %d, Content-Type %q", resp.Status, ct)
					}
					if want := tt.want + g.suffix; string(resp.Body) != want {
						t.Errorf("body %q, want %q", resp.Body, want)
					}
				})
			}
		})
	}
	t.Run("hello-wat.wasm", func(t *testing.T) {
		m := compileDemo(t, e, "hello-wat.wasm")
		r := httptest.NewRequest(http.MethodGet, "/api/hello-wat?name=ignored", nil)
		resp, _, err := e.RunWAGI(context.Background(), m, modules.WAGICommand(r, &modules.WAGIRoute{Pattern: "/api/hello-wat"}, nil), modules.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != 200 || string(resp.Body) != "Hello from WAT!\n" {
			t.Errorf("status %d body %q", resp.Status, resp.Body)
		}
	})
}

// compileDemo compiles one of the demo app's committed guests.
func compileDemo(t testing.TB, e *modules.Engine, file string) *modules.Module {
	t.Helper()
	b, err := fs.ReadFile(examples.Demo(), file)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Compile(file, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}
