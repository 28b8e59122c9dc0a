package modules

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
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
// X_RAW_PATH_INFO), then HTTP_* for each header (upper case, "-" to "_",
// repeated values joined with ", ", plus HTTP_HOST; sorted, so a guest
// sees a stable env), then the route's env, sorted; the body on stdin;
// argv is the module name followed by the query string split on "&", each
// part URL-decoded. argv and env are laid out for the guest as they are
// built (wagi_env.go); Command.Argv and Command.Environ read them back.
//
// Some headers are withheld; see headerVisible.
func WAGICommand(r *http.Request, rt *WAGIRoute, body []byte) *Command {
	escaped := r.URL.EscapedPath()
	w := cmdWriter{buf: make([]byte, 0, wagiSize(r, rt, escaped))}
	w.wagiArgv(rt.Module, r.URL.RawQuery)
	w.cgiEnv(r, rt, len(body), escaped)
	w.headerEnv(r.Host, r.Header)
	w.routeEnv(rt.Env)
	return w.command(body)
}

// rawPathInfo strips the route's prefix from the raw (still escaped) path.
// The raw path may spell the prefix differently ("/%61pi" for "/api"), so
// it walks raw segments, decoding each, until they add up to the prefix.
// If they never line up (an escaped "/" inside the prefix), it falls back
// to escaping the decoded PATH_INFO.
func rawPathInfo(raw, script, pathInfo string) string {
	matched, rest := 0, raw // bytes of script the segments so far spell
	for matched < len(script) && rest != "" {
		end := strings.IndexByte(rest[1:], '/') + 1
		if end == 0 {
			end = len(rest)
		}
		seg := rest[:end]
		if strings.IndexByte(seg, '%') >= 0 {
			dec, err := url.PathUnescape(seg)
			if err != nil {
				break
			}
			seg = dec
		}
		if !strings.HasPrefix(script[matched:], seg) {
			break
		}
		matched, rest = matched+len(seg), rest[end:]
	}
	if matched == len(script) {
		return rest
	}
	return (&url.URL{Path: pathInfo}).EscapedPath()
}

var errNoPort = errors.New("no port")

// splitHostPort finds the server name and port the client addressed,
// defaulting the port from the scheme.
func splitHostPort(r *http.Request) (host, port string) {
	err := errNoPort // without a ":", the error net.SplitHostPort would make
	if strings.IndexByte(r.Host, ':') >= 0 {
		host, port, err = net.SplitHostPort(r.Host)
	}
	if err != nil {
		host, port = strings.Trim(r.Host, "[]"), "80"
		if r.TLS != nil {
			port = "443"
		}
	}
	return host, port
}

// RunWAGI runs one WAGI request in a fresh store and parses its CGI output.
// The Output is returned even on error, for the caller's log. The
// Response's body and header values are parts of Output.Stdout, not
// copies: none of them may be written to.
func (e *Engine) RunWAGI(ctx context.Context, m *Module, cmd *Command, lim Limits) (*Response, *Output, error) {
	out, err := e.Run(ctx, m, cmd, lim)
	if err != nil {
		return nil, out, err
	}
	// out.Stdout is this run's own copy: the header may point into it.
	resp, err := parseCGI(out.Stdout, true)
	if err != nil {
		return nil, out, fmt.Errorf("modules: run %s: %w", m.name, err)
	}
	return resp, out, nil
}
