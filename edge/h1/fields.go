package h1

import (
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Fields are response header fields prepared once for many responses (a
// cached object's, a static file's): checked and formatted as
// "Name: value\r\n" lines when built, and copied into the head as they
// are. Through a header map, a response of more than 8 fields pays for
// the map growing, and net/http sorts the fields and cleans every value
// per response.
type Fields struct {
	block  []byte
	keys   map[string]struct{} // canonical keys, for Override and has
	length int64               // the Content-Length among them, or -1
	typed  bool                // a Content-Type among them: nothing to sniff
}

// NewFields prepares h's fields. Fields an HTTP/1.1 server sets itself
// (Transfer-Encoding, Connection) and invalid ones are left out. h is not
// kept.
func NewFields(h http.Header) *Fields {
	f := &Fields{length: -1, keys: make(map[string]struct{}, len(h))}
	for k, vs := range h {
		if k == "Transfer-Encoding" || k == "Connection" || k == "Trailer" || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		switch k {
		case "Content-Length":
			n, err := strconv.ParseInt(vs[0], 10, 64)
			if err != nil || n < 0 || len(vs) != 1 {
				continue // as net/http drops an invalid one
			}
			f.length = n
		case "Content-Type":
			f.typed = true
		}
		f.keys[k] = struct{}{}
		for _, v := range vs {
			f.block = appendField(f.block, k, v)
		}
	}
	return f
}

// Len is how many bytes of field lines f sends.
func (f *Fields) Len() int { return len(f.block) }

// Override removes from h the fields f also has, which f then stands
// for: as if f's fields had been set in h over what was there.
func (f *Fields) Override(h http.Header) {
	for k := range h {
		if _, ok := f.keys[k]; ok {
			delete(h, k)
		}
	}
}

func (f *Fields) has(k string) bool {
	if f == nil {
		return false
	}
	_, ok := f.keys[k]
	return ok
}

// appendField appends "name: value\r\n", the value cleaned as net/http
// cleans it: CR and LF become spaces, and white space around is trimmed.
func appendField(b []byte, name, value string) []byte {
	value = trimSpace(value)
	b = append(b, name...)
	b = append(b, ':', ' ')
	start := len(b)
	b = append(b, value...)
	if strings.IndexByte(value, '\r') >= 0 || strings.IndexByte(value, '\n') >= 0 {
		for i := start; i < len(b); i++ {
			if b[i] == '\r' || b[i] == '\n' {
				b[i] = ' '
			}
		}
	}
	return append(b, '\r', '\n')
}

// trimSpace is textproto.TrimString: ASCII space, tab, CR and LF.
func trimSpace(s string) string {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}
