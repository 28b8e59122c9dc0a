package modules

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"

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

// hopHeaders are connection-level headers a guest may not set: the server
// owns framing (Content-Length, Transfer-Encoding) and the connection.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Transfer-Encoding": true,
	"Content-Length": true, "Upgrade": true, "Proxy-Connection": true, "Te": true, "Trailer": true,
}

// serverHeaders are the node's own response headers: a guest's value for
// one is dropped, so it cannot forge the request id a log is searched by,
// point clients at another HTTP/3 endpoint (Alt-Svc), or pose as another
// server.
var serverHeaders = map[string]bool{
	"X-Request-Id": true, "Alt-Svc": true, "Date": true, "Server": true,
}

// ParseCGIResponse parses a CGI response (RFC 3875 section 6, as WAGI uses
// it): header lines, a blank line, then the body. Lines may end in "\n" or
// "\r\n". "Status: 404 Not Found" sets the status; a Location without a
// Status means 302; a response with neither Content-Type nor Location is
// refused, as WAGI does. Errors wrap ErrBadResponse and say what was wrong.
func ParseCGIResponse(out []byte) (*Response, error) {
	head, body, err := splitCGI(out)
	if err != nil {
		return nil, err
	}
	resp := &Response{Status: http.StatusOK, Header: http.Header{}, Body: body}
	status, hasStatus := "", false
	err = eachHeader(head, func(name, value string) error {
		switch {
		case name == "Status":
			status, hasStatus = value, true
		case !hopHeaders[name] && !serverHeaders[name]:
			resp.Header.Add(name, value)
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

// splitCGI separates the header section from the body at the first blank
// line.
func splitCGI(out []byte) (head string, body []byte, err error) {
	if bytes.HasPrefix(out, []byte("\n")) || bytes.HasPrefix(out, []byte("\r\n")) {
		return "", nil, fmt.Errorf("%w: no headers before the body (a CGI response needs at least Content-Type)", ErrBadResponse)
	}
	limit := min(len(out), maxCGIHeader)
	for i := 0; i < limit; i++ {
		if out[i] != '\n' {
			continue
		}
		rest := out[i+1:]
		switch {
		case bytes.HasPrefix(rest, []byte("\n")):
			return string(out[:i]), rest[1:], nil
		case bytes.HasPrefix(rest, []byte("\r\n")):
			return string(out[:i]), rest[2:], nil
		}
	}
	if len(out) == 0 {
		return "", nil, fmt.Errorf("%w: empty output", ErrBadResponse)
	}
	if len(out) > maxCGIHeader {
		return "", nil, fmt.Errorf("%w: no blank line within the first %d bytes (headers never ended)", ErrBadResponse, maxCGIHeader)
	}
	return "", nil, fmt.Errorf("%w: no blank line after the headers", ErrBadResponse)
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
	hasLoc, hasType := r.Header.Get("Location") != "", r.Header.Get("Content-Type") != ""
	if !hasLoc && !hasType && r.Header.Get(StaticHeader) == "" {
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

// trunc shortens guest text quoted in an error message.
func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
