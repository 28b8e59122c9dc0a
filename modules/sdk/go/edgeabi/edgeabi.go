//go:build wasip1

// Package edgeabi is the Go SDK for the edge ABI, version 1
// (docs/edge-abi.md): a guest gets the whole request in one call across the
// sandbox boundary and sends the response in another, without WASI, the
// environment or CGI text. Routes run such a guest with executor = "edge"
// in edge.toml.
//
// An application registers its handler from an init function and is built
// as a WASI reactor:
//
//	package main
//
//	import "github.com/edgecdn/edge/modules/sdk/go/edgeabi"
//
//	func init() {
//		edgeabi.Handle(func(r *edgeabi.Request) edgeabi.Response {
//			return edgeabi.Text(200, "hello from "+r.Path()+"\n")
//		})
//	}
//
//	func main() {}
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o app.wasm .
//
// In a reactor (-buildmode=c-shared) the host calls _initialize, which runs
// the package init functions but not main, then the edge_handle function
// this package exports. A module built without -buildmode=c-shared has no
// _initialize and fails on its first request.
//
// Every request runs in a fresh instance: globals start from their
// initial values each time, and nothing needs freeing.
//
// The node pre-initialises such a reactor (docs/preinit.md): _initialize,
// and so the Go runtime's start-up and every init function, runs once when
// the app loads, and each request starts from a snapshot of the state it
// left. Do expensive set-up in init; it is paid once. What init leaves is
// the same in every request, including the runtime's random state: map
// hash seeds and math/rand's top-level functions repeat from request to
// request, so use crypto/rand (fresh from the host on every call) for
// anything that must differ or be unpredictable, and seed generators from
// it inside the handler, not in init.
//
// The package keeps modules small: it imports neither net/http (which
// doubles a module's size) nor fmt. [Header] has the same underlying type
// as http.Header, so the two convert into each other, and
// [Request.Query] decodes a query parameter without net/url.
package edgeabi

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// Version is the edge ABI version this package speaks.
const Version = 1

// Error is a refusal returned by the host.
type Error int32

// The host's refusals.
const (
	ErrStatus Error = -1 // status outside 200-599
	ErrHeader Error = -2 // malformed or forbidden header (Content-Length, Transfer-Encoding, Connection)
	ErrState  Error = -3 // Respond called twice, or Write before Respond
	ErrLimit  Error = -4 // over the route's output limit; the client gets 502
)

func (e Error) Error() string {
	switch e {
	case ErrStatus:
		return "edgeabi: status out of range"
	case ErrHeader:
		return "edgeabi: malformed or forbidden header"
	case ErrState:
		return "edgeabi: already responded, or not yet"
	case ErrLimit:
		return "edgeabi: over the output limit"
	case ErrFetchRefused:
		return "edgeabi: fetch refused (not an allowed host, or an internal address)"
	case ErrFetchCount:
		return "edgeabi: more fetches than the route allows"
	case ErrFetchTooLarge:
		return "edgeabi: fetched response too large"
	case ErrFetchFailed:
		return "edgeabi: fetch failed"
	case ErrFetchBad:
		return "edgeabi: malformed fetch request"
	}
	return "edgeabi: host error " + strconv.Itoa(int(e))
}

func result(rc int32) error {
	if rc == 0 {
		return nil
	}
	return Error(rc)
}

// Request is an incoming request.
type Request struct {
	Method string // "GET", "POST", ...
	URI    string // the path and query as the client sent them, "/a/b?x=1"
	Header Header // canonical names; Host is always present
	Body   []byte
}

// Path returns the URI up to the query, undecoded.
func (r *Request) Path() string {
	path, _, _ := strings.Cut(r.URI, "?")
	return path
}

// RawQuery returns the URI after the '?', undecoded.
func (r *Request) RawQuery() string {
	_, q, _ := strings.Cut(r.URI, "?")
	return q
}

// Query returns the first value of the query parameter key, or "". It
// decodes like url.ParseQuery followed by Get: "+" is a space, "%XX" a
// byte, and pairs that are malformed (a bad escape, a ';') are skipped.
func (r *Request) Query(key string) string {
	v, _ := QueryValue(r.RawQuery(), key)
	return v
}

// QueryValue returns the first value of key in the raw query string q and
// whether it is present, decoding as [Request.Query] does.
func QueryValue(q, key string) (string, bool) {
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, ok := unescape(k)
		if !ok || k != key {
			continue
		}
		if v, ok = unescape(v); ok {
			return v, true
		}
	}
	return "", false
}

// unescape decodes form-urlencoded s, reporting false for a bad escape.
func unescape(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) {
				return "", false
			}
			hi, lo := unhex(s[i+1]), unhex(s[i+2])
			if hi < 0 || lo < 0 {
				return "", false
			}
			b = append(b, byte(hi<<4|lo))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// Host returns the Host header.
func (r *Request) Host() string { return r.Header.Get("Host") }

// ParseRequest parses the request text the host's request function
// returns (docs/edge-abi.md). Body aliases b.
func ParseRequest(b []byte) (*Request, error) {
	line, rest, ok := cutLine(b)
	method, uri, sp := strings.Cut(string(line), " ")
	if !ok || !sp || method == "" || uri == "" {
		return nil, errors.New("edgeabi: malformed request line " + strconv.Quote(string(line)))
	}
	r := &Request{Method: method, URI: uri, Header: Header{}}
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return nil, errors.New("edgeabi: request head without an end")
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := strings.Cut(string(line), ":")
		if !ok {
			return nil, errors.New("edgeabi: malformed header line " + strconv.Quote(string(line)))
		}
		// Names arrive canonical; values after ": ".
		r.Header[name] = append(r.Header[name], strings.TrimLeft(value, " \t"))
	}
	r.Body = rest
	return r, nil
}

func cutLine(b []byte) (line, rest []byte, ok bool) {
	for i, c := range b {
		if c == '\n' {
			return b[:i], b[i+1:], true
		}
	}
	return nil, b, false
}

// ReadRequest reads and parses the current request from the host.
// [Handle] does this for its handler.
func ReadRequest() (*Request, error) {
	// Most requests fit the first buffer; a larger one takes a second call.
	buf := make([]byte, 2048)
	for {
		n := hostRequest(unsafe.Pointer(&buf[0]), uint32(len(buf)))
		if n <= 0 {
			return nil, errors.New("edgeabi: request: host returned " + strconv.Itoa(int(n)))
		}
		if int(n) <= len(buf) {
			return ParseRequest(buf[:n])
		}
		buf = make([]byte, n)
	}
}

// Respond sends the status (200-599), the header and the first part of
// the body. Only the first call succeeds; more body follows with [Write].
// Content-Length, Transfer-Encoding and Connection are set by the server
// and refused.
func Respond(status int, header Header, body []byte) error {
	if status < 200 || status > 599 {
		return ErrStatus
	}
	head, err := header.encode()
	if err != nil {
		return err
	}
	rc := hostRespond(int32(status), bytesPtr(head), uint32(len(head)), bytesPtr(body), uint32(len(body)))
	if rc == 0 {
		responded = true
	}
	return result(rc)
}

// Write appends to the body after [Respond].
func Write(body []byte) error {
	return result(hostBodyWrite(bytesPtr(body), uint32(len(body))))
}

// WriteString appends to the body after [Respond].
func WriteString(s string) error {
	return result(hostBodyWrite(unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))))
}

// Log writes one line to the node's log, tagged with the request id.
func Log(msg string) {
	hostLog(unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

func panicString(v any) string {
	switch v := v.(type) {
	case error:
		return v.Error()
	case string:
		return v
	}
	return "(a non-string value)"
}

func bytesPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// Response is what a [Handler] returns.
type Response struct {
	Status int // 0 means 200
	Header Header
	Body   []byte
}

// Text is a response with a text/plain; charset=utf-8 body.
func Text(status int, body string) Response {
	return Response{Status: status, Header: Header{"Content-Type": {"text/plain; charset=utf-8"}}, Body: []byte(body)}
}

// A Handler answers one request. It may also stream: call [Respond] and
// [Write] itself, and then its return value is ignored.
type Handler func(*Request) Response

var (
	handler   Handler
	responded bool // Respond succeeded in this instance
)

// Handle registers the handler for the requests this module receives. Call
// it from an init function: in a reactor, main does not run.
func Handle(h Handler) { handler = h }

// Serve reads the request, runs the registered handler and sends its
// response, answering 500 if the handler panics. It is what edge_handle
// does, for an application that exports its own entry point.
func Serve() {
	if handler == nil {
		Log("edgeabi: no handler: call edgeabi.Handle from an init function (main does not run in a reactor)")
		Respond(500, nil, nil)
		return
	}
	req, err := ReadRequest()
	if err != nil {
		Log(err.Error())
		Respond(400, nil, nil)
		return
	}
	defer func() {
		if v := recover(); v != nil {
			Log("edgeabi: handler panicked: " + panicString(v))
			if !responded {
				Respond(500, nil, nil)
			}
		}
	}()
	resp := handler(req)
	if responded {
		return
	}
	status := resp.Status
	if status == 0 {
		status = 200
	}
	if err := Respond(status, resp.Header, resp.Body); err != nil {
		Log("edgeabi: respond " + strconv.Itoa(status) + ": " + err.Error())
		if !responded {
			Respond(500, nil, nil)
		}
	}
}

//go:wasmexport edge_handle
func edgeHandle() int32 {
	Serve()
	return 0
}

// Header is a response or request header: canonical names ("Content-Type")
// to values. Its underlying type is that of http.Header.
type Header map[string][]string

// Get returns the first value of the header called name (any case), or "".
func (h Header) Get(name string) string {
	if v := h[CanonicalName(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Values returns all values of the header called name (any case).
func (h Header) Values(name string) []string { return h[CanonicalName(name)] }

// Set replaces the values of the header called name.
func (h Header) Set(name, value string) { h[CanonicalName(name)] = []string{value} }

// Add appends a value to the header called name.
func (h Header) Add(name, value string) {
	name = CanonicalName(name)
	h[name] = append(h[name], value)
}

// Del removes the header called name.
func (h Header) Del(name string) { delete(h, CanonicalName(name)) }

// CanonicalName returns name in canonical form: the first letter and any
// letter after a hyphen upper case, the rest lower case ("content-type"
// becomes "Content-Type"). Names that are not tokens are returned as they
// are, like textproto.CanonicalMIMEHeaderKey does.
func CanonicalName(name string) string {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isToken(c) {
			return name
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			b := []byte(name)
			for j := i; j < len(b); j++ {
				c := b[j]
				if upper && 'a' <= c && c <= 'z' {
					b[j] = c - 'a' + 'A'
				} else if !upper && 'A' <= c && c <= 'Z' {
					b[j] = c - 'A' + 'a'
				} else if !isToken(c) {
					return name
				}
				upper = c == '-'
			}
			return string(b)
		}
		upper = c == '-'
	}
	return name
}

func isToken(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// encode renders h as "Name: value\n" lines in name order, refusing what
// the host would: bad names, values with CR, LF or NUL, and the headers
// the server owns.
func (h Header) encode() ([]byte, error) {
	if len(h) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	var b []byte
	for _, name := range names {
		if !validName(name) {
			return nil, ErrHeader
		}
		switch CanonicalName(name) {
		case "Content-Length", "Transfer-Encoding", "Connection", "Status":
			return nil, ErrHeader
		}
		for _, v := range h[name] {
			if strings.ContainsAny(v, "\r\n\x00") {
				return nil, ErrHeader
			}
			b = append(b, name...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, '\n')
		}
	}
	return b, nil
}

func validName(name string) bool {
	for i := 0; i < len(name); i++ {
		if !isToken(name[i]) {
			return false
		}
	}
	return name != ""
}
