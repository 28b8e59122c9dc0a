package modules

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// wagi_env.go lays a WAGI request's argv and environment out as C reads
// them (packStrings), while they are built.
//
// Why: built as [][2]string first (a string per header variable, an
// escaped URL, sort.Slice's reflection, a []string for argv) and packed
// again for C, the env cost 17 allocations and 1.5 KB per request, a
// tenth of a hello guest's whole run, and the garbage made the node's
// collector run more often. Written straight into one buffer it costs
// one allocation, whatever the request; Command.Environ and
// Command.Argv read it back for tests and logs.

// cmdWriter builds a command's one buffer: argv, then the env, each
// string NUL-terminated, then a final NUL (so that the buffer is never
// empty, as packStrings lays it out). Its methods append to a local copy
// of buf and store it back once: each store of the slice into the
// writer is a pointer write, behind the collector's write barrier, which
// cost a sixth of the builder's time while a collection ran (often, for
// the node's small heap).
type cmdWriter struct {
	buf        []byte
	argsLen    int
	argc, envc int
}

// appendVar appends "name=value" and its NUL.
func appendVar(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, '=')
	b = append(b, value...)
	return append(b, 0)
}

// command finishes the buffer into a Command.
func (w *cmdWriter) command(stdin []byte) *Command {
	w.buf = append(w.buf, 0)
	return &Command{Stdin: stdin, laid: w.buf, argsLen: w.argsLen, argc: w.argc, envc: w.envc}
}

// wagiArgv appends argv: the module name, then the query string split on
// "&", each part URL-decoded where it decodes.
func (w *cmdWriter) wagiArgv(module, rawQuery string) {
	b := append(append(w.buf, module...), 0)
	w.argc++
	for rest, more := rawQuery, rawQuery != ""; more; {
		var part string
		part, rest, more = strings.Cut(rest, "&")
		if dec, err := url.QueryUnescape(part); err == nil {
			part = dec
		}
		b = append(append(b, part...), 0)
		w.argc++
	}
	w.buf, w.argsLen = b, len(b)
}

// cgiVars is how many variables cgiEnv appends.
const cgiVars = 19

// cgiEnv appends the CGI 1.1 variables and WAGI's X_* ones, in the order
// WAGI lists them.
func (w *cmdWriter) cgiEnv(r *http.Request, rt *WAGIRoute, bodyLen int, escaped string) {
	script := rt.scriptName()
	pathInfo := strings.TrimPrefix(r.URL.Path, script)
	host, port := splitHostPort(r)
	remote, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		remote = r.RemoteAddr
	}
	b := appendVar(w.buf, "AUTH_TYPE", "")
	b = append(b, "CONTENT_LENGTH="...)
	b = append(strconv.AppendInt(b, int64(bodyLen), 10), 0)
	b = appendVar(b, "CONTENT_TYPE", r.Header.Get("Content-Type"))
	b = appendVar(b, "GATEWAY_INTERFACE", "CGI/1.1")
	b = appendVar(b, "PATH_INFO", pathInfo)
	b = appendVar(b, "PATH_TRANSLATED", pathInfo)
	b = appendVar(b, "QUERY_STRING", r.URL.RawQuery)
	b = appendVar(b, "REMOTE_ADDR", remote)
	b = appendVar(b, "REMOTE_HOST", remote)
	b = appendVar(b, "REMOTE_USER", "")
	b = appendVar(b, "REQUEST_METHOD", r.Method)
	b = appendVar(b, "SCRIPT_NAME", script)
	b = appendVar(b, "SERVER_NAME", host)
	b = appendVar(b, "SERVER_PORT", port)
	b = appendVar(b, "SERVER_PROTOCOL", r.Proto)
	b = appendVar(b, "SERVER_SOFTWARE", rt.ServerSoftware)
	b = append(b, "X_FULL_URL="...)
	b = append(appendFullURL(b, r, host, port, escaped), 0)
	b = appendVar(b, "X_MATCHED_ROUTE", rt.Pattern)
	b = appendVar(b, "X_RAW_PATH_INFO", rawPathInfo(escaped, script, pathInfo))
	w.buf, w.envc = b, w.envc+cgiVars
}

// appendFullURL appends the URL the client asked for, as url.URL.String
// spells it. A Host with bytes that URL escapes (never one net/http
// accepted from a client) takes url.URL's own, slower, way.
func appendFullURL(b []byte, r *http.Request, host, port, escapedPath string) []byte {
	h := r.Host
	if h == "" {
		h = net.JoinHostPort(host, port)
	}
	if !plainHost(h) {
		u := url.URL{Scheme: "http", Host: h, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
		if r.TLS != nil {
			u.Scheme = "https"
		}
		return append(b, u.String()...)
	}
	if r.TLS != nil {
		b = append(b, "https://"...)
	} else {
		b = append(b, "http://"...)
	}
	b = append(b, h...)
	if escapedPath != "" && escapedPath[0] != '/' {
		b = append(b, '/')
	}
	b = append(b, escapedPath...)
	if r.URL.RawQuery != "" {
		b = append(b, '?')
		b = append(b, r.URL.RawQuery...)
	}
	return b
}

// plainHost reports whether url.URL would write host as it is: letters,
// digits and the punctuation of names, IPv6 literals and ports.
func plainHost(host string) bool {
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// headerEnv appends the request's headers as HTTP_* variables, sorted by
// variable name, with HTTP_HOST among them; see headerVisible for the
// headers left out.
func (w *cmdWriter) headerEnv(host string, h http.Header) {
	// Sorted by name rather than appended and sorted after: the names
	// sort as their variables do when compared as cgiName spells them.
	names := make([]string, 0, 32)
	if host != "" {
		names = append(names, "Host")
	}
	for name, values := range h {
		if headerVisible(name) && len(values) > 0 {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, compareCGINames)
	b := w.buf
	for _, name := range names {
		b = append(appendCGIName(b, name), '=')
		if name == "Host" {
			b = append(b, host...)
		} else {
			for i, v := range h[name] {
				if i > 0 {
					b = append(b, ", "...)
				}
				b = append(b, v...)
			}
		}
		b = append(b, 0)
	}
	w.buf, w.envc = b, w.envc+len(names)
}

// headerVisible says which headers a guest sees. Dropped: credentials
// (RFC 3875 4.1.18), Connection, Proxy (which would become HTTP_PROXY,
// the httpoxy hole), Host (HTTP_HOST is the request's Host), and any
// header whose name has "_": X_Forwarded_For would otherwise collide
// with, and spoof, X-Forwarded-For (nginx and Apache drop them for the
// same reason).
func headerVisible(name string) bool {
	switch name {
	case "Authorization", "Proxy-Authorization", "Connection", "Proxy", "Host":
		return false
	}
	return !strings.Contains(name, "_")
}

// cgiByte is one byte of a header name as its CGI variable spells it:
// "-" becomes "_", a-z upper case.
func cgiByte(c byte) byte {
	switch {
	case c == '-':
		return '_'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 'A'
	}
	return c
}

// appendCGIName appends a header name's CGI variable: "X-Forwarded-For"
// becomes "HTTP_X_FORWARDED_FOR".
func appendCGIName(b []byte, name string) []byte {
	b = append(b, "HTTP_"...)
	for i := 0; i < len(name); i++ {
		b = append(b, cgiByte(name[i]))
	}
	return b
}

// compareCGINames orders header names as their CGI variables sort; names
// that spell the same variable ("x-a" and "X-A", only from a handler that
// set the map directly) by the names themselves, so the order is stable.
func compareCGINames(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if ca, cb := cgiByte(a[i]), cgiByte(b[i]); ca != cb {
			return int(ca) - int(cb)
		}
	}
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// routeEnv appends the route's own env, sorted by name.
func (w *cmdWriter) routeEnv(m map[string]string) {
	b := w.buf
	if len(m) == 1 {
		for k, v := range m {
			b = appendVar(b, k, v)
		}
	} else if len(m) > 1 {
		keys := make([]string, 0, 16)
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = appendVar(b, k, m[k])
		}
	}
	w.buf, w.envc = b, w.envc+len(m)
}

// wagiSize is about the size of a request's buffer, so that it is
// allocated once: a little more than it needs but for a URL that escapes
// much (then append grows it).
func wagiSize(r *http.Request, rt *WAGIRoute, escaped string) int {
	const names = len("AUTH_TYPE=CONTENT_LENGTH=CONTENT_TYPE=GATEWAY_INTERFACE=CGI/1.1PATH_INFO=PATH_TRANSLATED=" +
		"QUERY_STRING=REMOTE_ADDR=REMOTE_HOST=REMOTE_USER=REQUEST_METHOD=SCRIPT_NAME=SERVER_NAME=SERVER_PORT=" +
		"SERVER_PROTOCOL=SERVER_SOFTWARE=X_FULL_URL=https://?X_MATCHED_ROUTE=X_RAW_PATH_INFO=HTTP_HOST=")
	n := names + 24 + 20 + // NULs, CONTENT_LENGTH
		len(rt.Module) + 3*len(r.URL.RawQuery) + 2 + // argv and QUERY_STRING
		2*len(r.URL.Path) + 2*len(escaped) + // PATH_*, X_RAW_PATH_INFO and X_FULL_URL
		2*len(r.RemoteAddr) + len(r.Method) + 2*len(rt.Pattern) + 4*len(r.Host) + 8 +
		len(r.Proto) + len(rt.ServerSoftware)
	for name, values := range r.Header {
		n += len(name) + 7
		for _, v := range values {
			n += len(v) + 2
		}
	}
	if ct := r.Header["Content-Type"]; len(ct) > 0 {
		n += len(ct[0])
	}
	for k, v := range rt.Env {
		n += len(k) + len(v) + 2
	}
	return n
}
