package modules

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The tests of wagi_env.go: the env laid out straight for the guest is,
// for any request, the env the [][2]string builder it replaced made
// (kept below as the reference), and it costs one allocation.

// FuzzWAGICommandMatchesReference builds a request from the fuzzer's
// parts and checks WAGICommand's argv and env against the reference.
func FuzzWAGICommandMatchesReference(f *testing.F) {
	f.Add("GET", "/api/hello?name=bench", "example.com", "User-Agent: bench\nAccept: */*", "192.0.2.1:1234", false, "/api/hello", 0, "GREETING=Howdy")
	f.Add("POST", "/api/a%2Fb?x+y&a%3Db&bad%zz&&last=%26", "[::1]:8443", "X-Forwarded-For: a\nX-Forwarded-For: b\nContent-Type: text/plain\nAuthorization: Bearer x\nX_Spoof: y", "[::1]:80", true, "/api/...", 9, "A=1\nZ=2\nM=")
	f.Add("GET", "/%61pi/x%20y", "", "x-a: lower\nX-A: upper\nXa: z\nX-: dash\nHost: h\nProxy: p", "pipe", false, "/api/...", 0, "")
	f.Add("PUT", "/api", "h\u00e9st:80", "Connection: close\nZeta: 1", "", true, "/...", 3, "")
	f.Add("GET", "/api/hello/", "a.b", "", "1.2.3.4:5", false, "/api/hello", 0, "K=v=w")
	f.Fuzz(func(t *testing.T, method, target, host, headers, remote string, isTLS bool, pattern string, bodyLen int, routeEnv string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || bodyLen < 0 || bodyLen > 1<<20 {
			return
		}
		r := &http.Request{Method: method, URL: u, Host: host, Header: http.Header{}, RemoteAddr: remote, Proto: "HTTP/1.1"}
		if isTLS {
			r.TLS = &tls.ConnectionState{}
		}
		for _, line := range strings.Split(headers, "\n") {
			if k, v, ok := strings.Cut(line, ": "); ok && k != "" {
				r.Header[k] = append(r.Header[k], v)
			}
		}
		rt := &WAGIRoute{Pattern: pattern, Module: "m.wasm", ServerSoftware: "edge/test", Env: map[string]string{}}
		for _, line := range strings.Split(routeEnv, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && k != "" {
				rt.Env[k] = v
			}
		}
		got := WAGICommand(r, rt, make([]byte, bodyLen))
		// Compared as C reads them: a NUL in a value cuts it short for
		// the guest either way.
		args, argc, env, envc := got.layOut()
		wantEnvPairs := refEnv(r, rt, bodyLen)
		wantArgs, wantArgc := packStrings(refArgs(rt.Module, u.RawQuery))
		wantEnv, wantEnvc := packEnv(wantEnvPairs)
		gotEnv, refEnv := string(env[:len(env)-1]), string(wantEnv[:len(wantEnv)-1])
		if hasDuplicateNames(wantEnvPairs) {
			// Names spelling the same variable ("x-a", "X-A") come in
			// map order in the reference: compare as sets.
			gotEnv, refEnv = sortedNUL(gotEnv), sortedNUL(refEnv)
		}
		if gotEnv != refEnv || envc != wantEnvc {
			t.Errorf("env (%d)\n%q\nwant (%d)\n%q", envc, gotEnv, wantEnvc, refEnv)
		}
		if a, w := args[:len(args)-1], wantArgs[:len(wantArgs)-1]; string(a) != string(w) || argc != wantArgc {
			t.Errorf("argv (%d) %q, want (%d) %q", argc, a, wantArgc, w)
		}
		if len(got.Stdin) != bodyLen {
			t.Errorf("stdin %d bytes, want %d", len(got.Stdin), bodyLen)
		}
	})
}

// TestWAGICommandAllocs pins the cost of laying a request out: the
// Command and its one buffer (17 allocations with the [][2]string env,
// before it was packed again for C).
func TestWAGICommandAllocs(t *testing.T) {
	r := &http.Request{Method: "GET", Host: "example.com", Proto: "HTTP/1.1", RemoteAddr: "192.0.2.1:1234",
		URL:    &url.URL{Path: "/api/hello", RawQuery: "name=bench&x=%41"},
		Header: http.Header{"User-Agent": {"bench"}, "Accept": {"*/*"}, "Accept-Language": {"en", "fr"}}}
	rt := &WAGIRoute{Pattern: "/api/hello", Module: "hello.wasm", Env: map[string]string{"GREETING": "Howdy", "A": "b"}}
	var cmd *Command
	allocs := testing.AllocsPerRun(100, func() { cmd = WAGICommand(r, rt, nil) })
	// x=%41 is decoded into argv: one string of url.QueryUnescape's.
	if allocs > 3 {
		t.Errorf("WAGICommand: %v allocations per request, want at most 3 (Command, buffer, the decoded argument)", allocs)
	}
	if len(cmd.laid) > cap(cmd.laid) || cap(cmd.laid) != wagiSize(r, rt, r.URL.EscapedPath()) {
		t.Errorf("buffer grew from %d to %d bytes: wagiSize underestimates", wagiSize(r, rt, r.URL.EscapedPath()), cap(cmd.laid))
	}
	args, argc, env, envc := cmd.layOut()
	wantArgs, wantArgc := packStrings(refArgs(rt.Module, r.URL.RawQuery))
	wantEnv, wantEnvc := packEnv(refEnv(r, rt, 0))
	// C reads len-1 bytes of each.
	args, env, wantArgs, wantEnv = args[:len(args)-1], env[:len(env)-1], wantArgs[:len(wantArgs)-1], wantEnv[:len(wantEnv)-1]
	if string(args) != string(wantArgs) || argc != wantArgc || string(env) != string(wantEnv) || envc != wantEnvc {
		t.Errorf("laid out as\n%q %d\n%q %d\nwant\n%q %d\n%q %d", args, argc, env, envc, wantArgs, wantArgc, wantEnv, wantEnvc)
	}
}

func hasDuplicateNames(env [][2]string) bool {
	seen := map[string]bool{}
	for _, kv := range env {
		if seen[kv[0]] {
			return true
		}
		seen[kv[0]] = true
	}
	return false
}

// sortedNUL sorts NUL-terminated strings.
func sortedNUL(s string) string {
	parts := strings.SplitAfter(s, "\x00")
	slices.Sort(parts)
	return strings.Join(parts, "")
}

// ---- The reference: the env as it was built before wagi_env.go. ----

func refEnv(r *http.Request, rt *WAGIRoute, bodyLen int) [][2]string {
	env := refCGIEnv(nil, r, rt, bodyLen)
	env = refHeaderEnv(env, r.Host, r.Header)
	return append(env, refRouteEnv(rt.Env)...)
}

func refCGIEnv(env [][2]string, r *http.Request, rt *WAGIRoute, bodyLen int) [][2]string {
	script := rt.scriptName()
	pathInfo := strings.TrimPrefix(r.URL.Path, script)
	rawPathInfo := refRawPathInfo(r.URL.EscapedPath(), script, pathInfo)
	host, port := splitHostPort(r)
	remote, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		remote = r.RemoteAddr
	}
	return append(env, [][2]string{
		{"AUTH_TYPE", ""},
		{"CONTENT_LENGTH", strconv.Itoa(bodyLen)},
		{"CONTENT_TYPE", r.Header.Get("Content-Type")},
		{"GATEWAY_INTERFACE", "CGI/1.1"},
		{"PATH_INFO", pathInfo},
		{"PATH_TRANSLATED", pathInfo},
		{"QUERY_STRING", r.URL.RawQuery},
		{"REMOTE_ADDR", remote},
		{"REMOTE_HOST", remote},
		{"REMOTE_USER", ""},
		{"REQUEST_METHOD", r.Method},
		{"SCRIPT_NAME", script},
		{"SERVER_NAME", host},
		{"SERVER_PORT", port},
		{"SERVER_PROTOCOL", r.Proto},
		{"SERVER_SOFTWARE", rt.ServerSoftware},
		{"X_FULL_URL", refFullURL(r, host, port)},
		{"X_MATCHED_ROUTE", rt.Pattern},
		{"X_RAW_PATH_INFO", rawPathInfo},
	}...)
}

func refRawPathInfo(raw, script, pathInfo string) string {
	acc, rest := "", raw
	for len(acc) < len(script) && rest != "" {
		end := strings.IndexByte(rest[1:], '/') + 1
		if end == 0 {
			end = len(rest)
		}
		seg, err := url.PathUnescape(rest[:end])
		if err != nil {
			break
		}
		acc, rest = acc+seg, rest[end:]
	}
	if acc == script {
		return rest
	}
	return (&url.URL{Path: pathInfo}).EscapedPath()
}

func refFullURL(r *http.Request, host, port string) string {
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	if u.Host == "" {
		u.Host = net.JoinHostPort(host, port)
	}
	return u.String()
}

func refHeaderEnv(env [][2]string, host string, h http.Header) [][2]string {
	start := len(env)
	if host != "" {
		env = append(env, [2]string{"HTTP_HOST", host})
	}
	for name, values := range h {
		switch {
		case name == "Authorization", name == "Proxy-Authorization", name == "Connection",
			name == "Proxy", name == "Host", strings.Contains(name, "_"):
			continue
		}
		value := values[0]
		if len(values) > 1 {
			value = strings.Join(values, ", ")
		}
		env = append(env, [2]string{refCGIName(name), value})
	}
	headers := env[start:]
	sort.Slice(headers, func(i, j int) bool { return headers[i][0] < headers[j][0] })
	return env
}

func refCGIName(name string) string {
	b := []byte("HTTP_")
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '-':
			b = append(b, '_')
		case 'a' <= c && c <= 'z':
			b = append(b, c-'a'+'A')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func refRouteEnv(m map[string]string) [][2]string {
	env := make([][2]string, 0, len(m))
	for k, v := range m {
		env = append(env, [2]string{k, v})
	}
	sort.Slice(env, func(i, j int) bool { return env[i][0] < env[j][0] })
	return env
}

func refArgs(module, rawQuery string) []string {
	args := []string{module}
	if rawQuery == "" {
		return args
	}
	for _, part := range strings.Split(rawQuery, "&") {
		if dec, err := url.QueryUnescape(part); err == nil {
			part = dec
		}
		args = append(args, part)
	}
	return args
}
