package h1

import (
	"bytes"
	"net/http"
	"net/textproto"
	"net/url"

	"golang.org/x/net/http/httpguts"
)

// head is a request head this server answers itself: a GET or HEAD over
// HTTP/1.1 with no body, in origin form, with exactly one Host.
type head struct {
	method  string // http.MethodGet or http.MethodHead (constants: no allocation)
	target  string
	url     *url.URL
	header  http.Header
	host    string
	close   bool // Connection: close
	size    int  // bytes of the head, the blank line included
	handOff bool // anything else: net/http serves it (and the rest of the conn)
}

// headEnd is the length of the head at the start of b (through its
// blank line), -1 when b does not hold a whole head yet, or bareLF when
// a LF without its CR comes first: net/http tolerates those, so such a
// head is handed off, not waited on.
func headEnd(b []byte) int {
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		if i == 0 || b[i-1] != '\r' {
			return bareLF
		}
		if i >= 3 && b[i-2] == '\n' && b[i-3] == '\r' {
			return i + 1
		}
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return -1
}

const bareLF = -2

// parseHead parses b, one whole head as headEnd found it. It answers
// handOff for anything outside the subset this server serves or
// anything it is unsure of, so that net/http, which has served such
// requests all along, decides: a body of any kind (Content-Length,
// Transfer-Encoding), Expect, Upgrade, Trailer, another method or
// version, absolute or asterisk form, obs-fold, a bare CR or LF, a byte
// outside printable ASCII, a missing, repeated or malformed Host, a
// Connection other than close or keep-alive. It never refuses: that is
// net/http's to do, as before.
func parseHead(b []byte) head {
	h := head{size: len(b), handOff: true}
	s := string(b[:len(b)-4]) // one copy: every string below is a part of it
	line, rest, _ := cut(s)
	method, target, ok := parseRequestLine(line)
	if !ok {
		return h
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return h
	}
	n := 0
	if rest != "" {
		n = 1 + countCRLF(rest)
	}
	hdr := make(http.Header, n)
	values := make([]string, n) // one array for every field's value
	hosts, conns := 0, 0
	for i := 0; rest != ""; i++ {
		line, rest, _ = cut(rest)
		name, value, ok := parseField(line)
		if !ok {
			return h
		}
		key := textproto.CanonicalMIMEHeaderKey(name)
		switch key {
		case "Content-Length", "Transfer-Encoding", "Expect", "Upgrade", "Trailer", "Http2-Settings":
			return h
		case "Host":
			hosts++
			if hosts > 1 || value == "" || !httpguts.ValidHostHeader(value) {
				return h
			}
			h.host = value
			continue // net/http keeps Host out of the header map
		case "Connection":
			conns++
			switch {
			case conns > 1:
				return h
			case asciiEqualFold(value, "close"):
				h.close = true
			case asciiEqualFold(value, "keep-alive"):
			default:
				return h
			}
		}
		values[i] = value
		if vs, ok := hdr[key]; ok {
			hdr[key] = append(vs, value)
		} else {
			hdr[key] = values[i : i+1 : i+1]
		}
	}
	if hosts != 1 {
		return h
	}
	// As net/http's readRequest: an HTTP/1.0 cache's Pragma: no-cache.
	if hp, ok := hdr["Pragma"]; ok && hp[0] == "no-cache" {
		if _, ok := hdr["Cache-Control"]; !ok {
			hdr["Cache-Control"] = []string{"no-cache"}
		}
	}
	h.method, h.target, h.url, h.header, h.handOff = method, target, u, hdr, false
	return h
}

// parseRequestLine accepts "GET|HEAD SP target SP HTTP/1.1" with an
// origin-form target of printable ASCII, nothing else.
func parseRequestLine(line string) (method, target string, ok bool) {
	switch {
	case len(line) > 4 && line[:4] == "GET ":
		method, line = http.MethodGet, line[4:]
	case len(line) > 5 && line[:5] == "HEAD ":
		method, line = http.MethodHead, line[5:]
	default:
		return "", "", false
	}
	const proto = " HTTP/1.1"
	if len(line) <= len(proto) || line[len(line)-len(proto):] != proto {
		return "", "", false
	}
	target = line[:len(line)-len(proto)]
	if target[0] != '/' {
		return "", "", false
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c >= 0x7f {
			return "", "", false
		}
	}
	return method, target, true
}

// parseField splits "name: value" with a token name right before the
// colon and a value of printable ASCII and tabs, trimmed of spaces and
// tabs. A line starting with white space (obs-fold) has no valid name.
func parseField(line string) (name, value string, ok bool) {
	i := 0
	for i < len(line) && line[i] != ':' {
		if !httpguts.IsTokenRune(rune(line[i])) {
			return "", "", false
		}
		i++
	}
	if i == 0 || i == len(line) {
		return "", "", false
	}
	name, value = line[:i], line[i+1:]
	for j := 0; j < len(value); j++ {
		if c := value[j]; (c < ' ' && c != '\t') || c >= 0x7f {
			return "", "", false
		}
	}
	return name, trimOWS(value), true
}

// cut splits s at its first CRLF. A CR or LF anywhere else in the line is
// left in it, for the line's parser to refuse.
func cut(s string) (line, rest string, found bool) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '\r' && s[i+1] == '\n' {
			return s[:i], s[i+2:], true
		}
	}
	return s, "", false
}

func countCRLF(s string) int {
	n := 0
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '\r' && s[i+1] == '\n' {
			n++
		}
	}
	return n
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// asciiEqualFold reports whether s equals lower, a lower-case ASCII word,
// ignoring case.
func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
