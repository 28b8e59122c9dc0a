package modules

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/net/http/httpguts"
)

// maxCGIHeader bounds the header section of a guest's response, so a guest
// that never ends its headers is refused rather than scanned forever.
const maxCGIHeader = 64 << 10

// Response is a guest's answer, ready to be written to a client.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// hopHeader reports the connection-level headers a guest may not set:
// the server owns framing (Content-Length, Transfer-Encoding) and the
// connection. A switch, not a map: it is asked for every header line of
// every response.
func hopHeader(name string) bool {
	switch name {
	case "Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length",
		"Upgrade", "Proxy-Connection", "Te", "Trailer":
		return true
	}
	return false
}

// serverHeader reports the node's own response headers: a guest's value
// for one is dropped, so it cannot forge the request id a log is searched
// by, point clients at another HTTP/3 endpoint (Alt-Svc), or pose as
// another server.
func serverHeader(name string) bool {
	switch name {
	case "X-Request-Id", "Alt-Svc", "Date", "Server":
		return true
	}
	return false
}

// ParseCGIResponse parses a CGI response (RFC 3875 section 6, as WAGI uses
// it): header lines, a blank line, then the body. Lines may end in "\n" or
// "\r\n". "Status: 404 Not Found" sets the status; a Location without a
// Status means 302; a response with neither Content-Type nor Location is
// refused, as WAGI does. Errors wrap ErrBadResponse and say what was wrong.
func ParseCGIResponse(out []byte) (*Response, error) {
	return parseCGI(out, false)
}

// parseCGI is ParseCGIResponse. owned: out is a run's own copy of its
// output, never written again, so the header values may point into it
// rather than into a copy of the header section.
func parseCGI(out []byte, owned bool) (*Response, error) {
	headLen, bodyAt, err := splitCGI(out)
	if err != nil {
		return nil, err
	}
	var head string
	if owned {
		head = unsafe.String(unsafe.SliceData(out), headLen)
	} else {
		head = string(out[:headLen])
	}
	hb := newHeaderBuilder(head)
	resp := &Response{Status: http.StatusOK, Header: hb.h, Body: out[bodyAt:]}
	status, hasStatus := "", false
	err = eachHeader(head, func(name, value string) error {
		switch {
		case name == "Status":
			status, hasStatus = value, true
		case !hopHeader(name) && !serverHeader(name):
			hb.add(name, value)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := resp.setStatus(status, hasStatus); err != nil {
		return nil, err
	}
	return resp, nil
}

// headerBuilder makes a guest's response header with room for a value
// per line of its head: the map sized once, and every name's first value
// in one shared slice rather than a slice per name.
type headerBuilder struct {
	h    http.Header
	vals []string
}

func newHeaderBuilder(head string) headerBuilder {
	n := strings.Count(head, "\n") + 1
	return headerBuilder{h: make(http.Header, n), vals: make([]string, 0, n)}
}

// add is http.Header.Add for a canonical name. A name's first value gets
// a slice of vals with no room after it, so a second value for the name
// is appended to a copy, never over the next name's.
func (b *headerBuilder) add(name, value string) {
	if vs, ok := b.h[name]; ok {
		b.h[name] = append(vs, value)
		return
	}
	if len(b.vals) == cap(b.vals) {
		b.h[name] = []string{value}
		return
	}
	i := len(b.vals)
	b.vals = append(b.vals, value)
	b.h[name] = b.vals[i : i+1 : i+1]
}

// eachHeader parses the "Name: value" lines of head (ending in "\n" or
// "\r\n"; empty lines are skipped) and calls fn for each. A malformed
// line, or fn's error, fails with ErrBadResponse naming the line.
func eachHeader(head string, fn func(name, value string) error) error {
	for n := 0; head != ""; n++ {
		line, rest, _ := strings.Cut(head, "\n")
		head = rest
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		name, value, err := parseHeaderLine(line)
		if err == nil {
			err = fn(name, value)
		}
		if err != nil {
			return fmt.Errorf("%w: header line %d: %w", ErrBadResponse, n+1, err)
		}
	}
	return nil
}

// splitCGI separates the header section, out[:headLen], from the body,
// out[bodyAt:], at the first blank line.
func splitCGI(out []byte) (headLen, bodyAt int, err error) {
	if bytes.HasPrefix(out, []byte("\n")) || bytes.HasPrefix(out, []byte("\r\n")) {
		return 0, 0, fmt.Errorf("%w: no headers before the body (a CGI response needs at least Content-Type)", ErrBadResponse)
	}
	limit := min(len(out), maxCGIHeader)
	for i := 0; i < limit; i++ {
		if out[i] != '\n' {
			continue
		}
		rest := out[i+1:]
		switch {
		case bytes.HasPrefix(rest, []byte("\n")):
			return i, i + 2, nil
		case bytes.HasPrefix(rest, []byte("\r\n")):
			return i, i + 3, nil
		}
	}
	if len(out) == 0 {
		return 0, 0, fmt.Errorf("%w: empty output", ErrBadResponse)
	}
	if len(out) > maxCGIHeader {
		return 0, 0, fmt.Errorf("%w: no blank line within the first %d bytes (headers never ended)", ErrBadResponse, maxCGIHeader)
	}
	return 0, 0, fmt.Errorf("%w: no blank line after the headers", ErrBadResponse)
}

// parseHeaderLine splits "Name: value" and checks both halves are valid in
// an HTTP header, so a guest cannot inject a response into the stream.
func parseHeaderLine(line string) (name, value string, err error) {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return "", "", fmt.Errorf("%q has no colon", trunc(line))
	}
	if !httpguts.ValidHeaderFieldName(name) {
		return "", "", fmt.Errorf("invalid header name %q", trunc(name))
	}
	value = strings.TrimSpace(value)
	if !httpguts.ValidHeaderFieldValue(value) {
		return "", "", fmt.Errorf("invalid value for header %s", name)
	}
	return http.CanonicalHeaderKey(name), value, nil
}

// StaticHeader names, in a module's response, a static file of its app
// that the node sends instead of a body (see package edge). Such a
// response needs no Content-Type: the file has one.
const StaticHeader = "X-Edge-Static"

// setStatus applies the Status header and the WAGI rules for Location and
// Content-Type.
func (r *Response) setStatus(status string, hasStatus bool) error {
	// The names are canonical, as the header's keys are: no Get, which
	// would canonicalise each again.
	hasLoc, hasType := firstValue(r.Header["Location"]) != "", firstValue(r.Header["Content-Type"]) != ""
	if !hasLoc && !hasType && firstValue(r.Header[StaticHeader]) == "" {
		return fmt.Errorf("%w: response has neither Content-Type nor Location", ErrBadResponse)
	}
	if !hasStatus {
		if hasLoc {
			r.Status = http.StatusFound
		}
		return nil
	}
	code, _, _ := strings.Cut(status, " ")
	n, err := strconv.Atoi(code)
	if err != nil || len(code) != 3 || n < 200 || n > 599 {
		return fmt.Errorf("%w: Status %q is not a code from 200 to 599", ErrBadResponse, trunc(status))
	}
	r.Status = n
	return nil
}

// firstValue is a header's first value, as Header.Get gives it.
func firstValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// trunc shortens guest text quoted in an error message.
func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
