package h2

import (
	"net/http"
	"strconv"

	"golang.org/x/net/http/httpguts"
)

// Fields are response header fields prepared once for many responses (a
// cached object's: the origin's fields, Via, X-Cache, Content-Length):
// checked and HPACK-encoded when built, and sent beside the response's
// header map rather than through it. A response with more than 8 fields
// in its map pays for the map growing into a full table (three
// allocations and a rehash), and every field costs a dynamic-table search
// and Huffman coding in the connection's encoder (two thirds of the
// encoder's time, 11-15% of the node's CPU serving 4 KiB over h2); the
// fields a handler presets skip all of it: their lines are appended to
// the header block as they are.
//
// The lines are literals that leave the dynamic table alone (RFC 7541
// 6.2.2, never indexed for Set-Cookie as 6.2.3), so they are valid in any
// connection's block whatever its table holds; they cost a response a few
// hundred bytes more on the wire than indexed lines would.
type Fields struct {
	block  []byte              // the encoded field lines
	lines  int                 // how many
	keys   map[string]struct{} // their canonical keys, for Override
	length int64               // the Content-Length among them, or -1
	typed  bool                // a Content-Type among them: nothing to sniff
}

// NewFields prepares h's fields. Fields HTTP/2 does not carry
// (connection-specific, trailers) and invalid ones are left out, as
// they would be from a response's map. h is not kept.
func NewFields(h http.Header) *Fields {
	f := &Fields{length: -1, keys: make(map[string]struct{}, len(h))}
	for k, vs := range h {
		f.keys[k] = struct{}{}
		if skipResponseHeader(k) {
			continue
		}
		name := FieldName(k)
		if !httpguts.ValidHeaderFieldName(name) {
			continue
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				continue
			}
			f.block = appendLiteral(f.block, name, v)
			f.lines++
		}
		switch k {
		case "Content-Length":
			if n, err := strconv.ParseInt(vs[0], 10, 64); err == nil && n >= 0 && len(vs) == 1 {
				f.length = n
			}
		case "Content-Type":
			f.typed = true
		}
	}
	return f
}

// Len is how many field lines f sends.
func (f *Fields) Len() int { return f.lines }

// Preset has the response send f as well as its header map's fields, in
// one HEADERS block; f counts as part of the header for Content-Length
// and Content-Type. Call it before WriteHeader; f must not change.
func (rw *responseWriter) Preset(f *Fields) {
	if !rw.wrote {
		rw.preset = f
	}
}

// presetLength is the Content-Length a preset declares, or -1.
func (rw *responseWriter) presetLength() int64 {
	if rw.preset == nil {
		return -1
	}
	return rw.preset.length
}

// writePreset appends f's field lines to the block being built, under
// c.mu: after the encoder's, which put any table size update first, as
// a block must have it (RFC 7541 4.2).
func (c *conn) writePreset(f *Fields) {
	if f != nil {
		c.hbuf.Write(f.block)
	}
}

// Override removes from h the fields f also has, which f then stands
// for: as if f's fields had been set in h over what was there.
func (f *Fields) Override(h http.Header) {
	for k := range h {
		if _, ok := f.keys[k]; ok {
			delete(h, k)
		}
	}
}
