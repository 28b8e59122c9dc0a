package h2

import (
	"net/textproto"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// maxContinuations bounds the CONTINUATION frames of one header block:
// a block within MaxHeaderBytes needs a handful of full frames, and a
// client sending endless (even empty) ones costs the node work for
// nothing (CVE-2024-27316).
const maxContinuations = 32

// headerBlock gathers a HEADERS frame and its CONTINUATIONs, decodes the
// block and checks its fields as the decoder emits them.
type headerBlock struct {
	id        uint32
	end       bool // END_STREAM on the HEADERS frame
	selfDep   bool // the HEADERS frame's priority named its own stream
	open      bool
	frames    int
	raw       []byte
	max       int // MaxHeaderBytes
	size      int // decoded size so far (RFC 9113 6.5.2)
	truncated bool
	invalid   bool
	regular   bool // a regular field was seen: no pseudo-header may follow
	pseudo    pseudoHeaders
	fields    []hpack.HeaderField
}

type pseudoHeaders struct {
	method, scheme, authority, path string
	seen                            uint8
}

func (b *headerBlock) active() bool { return b.open }

func (c *conn) onHeaders(f *http2.HeadersFrame) error {
	if f.StreamID%2 == 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	b := &c.hb
	b.id, b.end, b.open, b.frames = f.StreamID, f.StreamEnded(), true, 0
	b.selfDep = f.HasPriority() && f.Priority.StreamDep == f.StreamID
	b.raw = append(b.raw[:0], f.HeaderBlockFragment()...)
	b.max = c.cfg.MaxHeaderBytes
	if f.HeadersEnded() {
		return c.onHeaderBlock()
	}
	return c.checkBlockSize()
}

func (c *conn) onContinuation(f *http2.ContinuationFrame) error {
	b := &c.hb
	b.frames++
	b.raw = append(b.raw, f.HeaderBlockFragment()...)
	if err := c.checkBlockSize(); err != nil {
		return err
	}
	if f.HeadersEnded() {
		return c.onHeaderBlock()
	}
	return nil
}

// checkBlockSize refuses a block past twice the header list limit or
// with too many CONTINUATION frames: the connection ends (the block
// cannot be skipped without decoding it, which is the cost to avoid).
func (c *conn) checkBlockSize() error {
	if len(c.hb.raw) > 2*c.cfg.MaxHeaderBytes || c.hb.frames > maxContinuations {
		c.hb.open = false
		return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
	}
	return nil
}

// decode runs the block through the connection's HPACK decoder, which
// must see every block in order whatever becomes of the stream.
func (c *conn) decode() error {
	b := &c.hb
	b.open = false
	b.size, b.truncated, b.invalid, b.regular = 0, false, false, false
	b.pseudo = pseudoHeaders{}
	b.fields = b.fields[:0]
	if _, err := c.hdec.Write(b.raw); err != nil {
		return http2.ConnectionError(http2.ErrCodeCompression)
	}
	if err := c.hdec.Close(); err != nil {
		return http2.ConnectionError(http2.ErrCodeCompression)
	}
	return nil
}

const (
	seenMethod = 1 << iota
	seenScheme
	seenAuthority
	seenPath
)

// onField is the decoder's emit function.
func (b *headerBlock) onField(f hpack.HeaderField) {
	if b.truncated || b.invalid {
		return
	}
	b.size += int(f.Size())
	if b.size > b.max {
		b.truncated = true
		return
	}
	if !httpguts.ValidHeaderFieldValue(f.Value) {
		b.invalid = true
		return
	}
	if strings.HasPrefix(f.Name, ":") {
		b.onPseudo(f)
		return
	}
	b.regular = true
	if !validLowerName(f.Name) {
		b.invalid = true
		return
	}
	b.fields = append(b.fields, f)
}

func (b *headerBlock) onPseudo(f hpack.HeaderField) {
	var bit uint8
	var dst *string
	switch f.Name {
	case ":method":
		bit, dst = seenMethod, &b.pseudo.method
	case ":scheme":
		bit, dst = seenScheme, &b.pseudo.scheme
	case ":authority":
		bit, dst = seenAuthority, &b.pseudo.authority
	case ":path":
		bit, dst = seenPath, &b.pseudo.path
	}
	if dst == nil || b.regular || b.pseudo.seen&bit != 0 {
		b.invalid = true
		return
	}
	b.pseudo.seen |= bit
	*dst = f.Value
}

// validLowerName: a token with no upper case (RFC 9113 8.2.1).
func validLowerName(s string) bool {
	if !httpguts.ValidHeaderFieldName(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return false
		}
	}
	return true
}

// connectionSpecific are the fields HTTP/2 forbids (RFC 9113 8.2.2).
func connectionSpecific(f hpack.HeaderField) bool {
	switch f.Name {
	case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
		return true
	case "te":
		return f.Value != "trailers"
	}
	return false
}

// canonicalKeys are the request fields seen most, to skip building their
// canonical form per request.
var canonicalKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"accept", "accept-encoding", "accept-language", "authorization",
		"cache-control", "content-length", "content-type", "cookie", "host", "if-match",
		"if-modified-since", "if-none-match", "if-range", "origin", "pragma", "range", "referer",
		"sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site", "user-agent", "x-forwarded-for",
		"priority", "upgrade-insecure-requests", "dnt", "te", "trailer", "via", "forwarded"} {
		m[k] = textproto.CanonicalMIMEHeaderKey(k)
	}
	return m
}()

func canonicalKey(lower string) string {
	if k, ok := canonicalKeys[lower]; ok {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(lower)
}

// lowerKeys are the response fields seen most, lower-cased once.
var lowerKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Accept-Ranges", "Age", "Alt-Svc", "Cache-Control", "Content-Encoding",
		"Content-Language", "Content-Length", "Content-Range", "Content-Type", "Date", "Etag",
		"Expires", "Last-Modified", "Location", "Server", "Set-Cookie", "Vary", "Via",
		"X-Content-Type-Options", "Strict-Transport-Security", "Access-Control-Allow-Origin",
		"X-Cache", "Link", "Retry-After", "Www-Authenticate", "Allow", "Content-Disposition",
		"X-Request-Id", "Cache-Status"} {
		m[k] = strings.ToLower(k)
	}
	return m
}()

// FieldName is the field name HTTP/2 and HTTP/3 send for the canonical
// header key k (both require lower case): the common ones without an
// allocation. The node's HTTP/3 whole-response path uses it too.
func FieldName(k string) string {
	if l, ok := lowerKeys[k]; ok {
		return l
	}
	return strings.ToLower(k)
}
