package modules

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// WAGIRoute is what the WAGI executor needs to know about the route that
// matched a request.
type WAGIRoute struct {
	// Pattern is the route as written in the manifest: "/api/hello" or
	// "/api/...". It is passed as X_MATCHED_ROUTE.
	Pattern string
	// Module is the module's file name, passed as argv[0].
	Module string
	// Env is the route's own environment; the only host env the guest sees.
	Env map[string]string
	// ServerSoftware names the node in SERVER_SOFTWARE.
	ServerSoftware string
}

// scriptName is the part of the path the route owns: the pattern without its
// wildcard. PATH_INFO is what follows it.
func (rt *WAGIRoute) scriptName() string {
	if p, ok := strings.CutSuffix(rt.Pattern, "/..."); ok {
		return p
	}
	return rt.Pattern
}

// WAGICommand turns an HTTP request into a WASI command, as WAGI defines it:
// the request as CGI 1.1 variables (plus X_MATCHED_ROUTE, X_FULL_URL and
// X_RAW_PATH_INFO), then HTTP_* for each header, then the route's env; the
// body on stdin; argv is the module name followed by the query string split
// on "&", each part URL-decoded.
//
// Some headers are withheld; see headerEnv.
func WAGICommand(r *http.Request, rt *WAGIRoute, body []byte) *Command {
	env := make([][2]string, 0, 20+len(r.Header)+len(rt.Env))
	env = cgiEnv(env, r, rt, len(body))
	env = headerEnv(env, r.Host, r.Header)
	env = append(env, routeEnv(rt.Env)...)
	return &Command{Args: wagiArgs(rt.Module, r.URL.RawQuery), Env: env, Stdin: body}
}

func cgiEnv(env [][2]string, r *http.Request, rt *WAGIRoute, bodyLen int) [][2]string {
	script := rt.scriptName()
	pathInfo := strings.TrimPrefix(r.URL.Path, script)
	rawPathInfo := rawPathInfo(r.URL.EscapedPath(), script, pathInfo)
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
		{"X_FULL_URL", fullURL(r, host, port)},
		{"X_MATCHED_ROUTE", rt.Pattern},
		{"X_RAW_PATH_INFO", rawPathInfo},
	}...)
}

// rawPathInfo strips the route's prefix from the raw (still escaped) path.
// The raw path may spell the prefix differently ("/%61pi" for "/api"), so
// it walks raw segments, decoding each, until they add up to the prefix.
// If they never line up (an escaped "/" inside the prefix), it falls back
// to escaping the decoded PATH_INFO.
func rawPathInfo(raw, script, pathInfo string) string {
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

// splitHostPort finds the server name and port the client addressed,
// defaulting the port from the scheme.
func splitHostPort(r *http.Request) (host, port string) {
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = strings.Trim(r.Host, "[]"), "80"
		if r.TLS != nil {
			port = "443"
		}
	}
	return host, port
}

func fullURL(r *http.Request, host, port string) string {
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	if u.Host == "" {
		u.Host = net.JoinHostPort(host, port)
	}
	return u.String()
}

// headerEnv maps headers to HTTP_* variables: upper case, "-" to "_",
// repeated values joined with ", ", plus HTTP_HOST. Sorted, so a guest
// sees a stable env. Dropped: credentials (RFC 3875 4.1.18), Connection,
// Proxy (which would become HTTP_PROXY, the httpoxy hole), and any header
// whose name has "_": X_Forwarded_For would otherwise collide with, and
// spoof, X-Forwarded-For (nginx and Apache drop them for the same reason).
func headerEnv(env [][2]string, host string, h http.Header) [][2]string {
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
		env = append(env, [2]string{cgiName(name), value})
	}
	headers := env[start:]
	sort.Slice(headers, func(i, j int) bool { return headers[i][0] < headers[j][0] })
	return env
}

// cgiName turns a header name into its CGI variable: "X-Forwarded-For"
// becomes "HTTP_X_FORWARDED_FOR", in one allocation.
func cgiName(name string) string {
	b := make([]byte, 0, 5+len(name))
	b = append(b, "HTTP_"...)
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

func routeEnv(m map[string]string) [][2]string {
	env := make([][2]string, 0, len(m))
	for k, v := range m {
		env = append(env, [2]string{k, v})
	}
	sort.Slice(env, func(i, j int) bool { return env[i][0] < env[j][0] })
	return env
}

func wagiArgs(module, rawQuery string) []string {
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

// RunWAGI runs one WAGI request in a fresh store and parses its CGI output.
// The Output is returned even on error, for the caller's log.
func (e *Engine) RunWAGI(ctx context.Context, m *Module, cmd *Command, lim Limits) (*Response, *Output, error) {
	out, err := e.Run(ctx, m, cmd, lim)
	if err != nil {
		return nil, out, err
	}
	resp, err := ParseCGIResponse(out.Stdout)
	if err != nil {
		return nil, out, fmt.Errorf("modules: run %s: %w", m.name, err)
	}
	return resp, out, nil
}
