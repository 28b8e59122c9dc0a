package h1

import (
	"context"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// pendSize is how much body a response without a Content-Length holds
// before its head is written: a handler that finishes within it gets a
// Content-Length, a longer or flushed response is chunked. It is
// net/http's (bufferBeforeChunkingSize), so both servers frame such a
// response alike; the node's own fast paths all set a Content-Length.
const pendSize = 2 << 10

// response is the http.ResponseWriter of one request. The head is built
// into the conn's write buffer when WriteHeader is called (so later
// changes to the header map have no effect, as with net/http); what only
// the body can decide (Content-Length or chunked, a sniffed
// Content-Type) is added when the head is committed.
type response struct {
	c      *conn
	req    *http.Request
	cancel context.CancelFunc
	hdr    http.Header
	preset *Fields

	status      int
	wroteHeader bool // WriteHeader called (or implied)
	committed   bool // the head is complete in c.out
	isHead      bool
	cl          int64 // the declared Content-Length, or -1
	written     int64
	chunked     bool
	closeAfter  bool // the conn closes after this response
	identity    bool // Transfer-Encoding: identity: the body ends with the conn
	trailers    bool
	sniff       bool // a Content-Type is to be sniffed from the body
	hasDate     bool
	connClose   bool // the header says Connection: close
	pend        []byte
}

func (w *response) reset(c *conn, req *http.Request, cancel context.CancelFunc) {
	hdr, pend := w.hdr, w.pend[:0]
	if hdr == nil {
		hdr = make(http.Header, 8)
	} else {
		clear(hdr)
	}
	*w = response{c: c, req: req, cancel: cancel, hdr: hdr, pend: pend, cl: -1,
		isHead: req.Method == http.MethodHead, closeAfter: req.Close}
}

// Header is the response's header map.
func (w *response) Header() http.Header { return w.hdr }

// Preset has the response send f as well as its header map's fields; f
// counts as part of the header for Content-Length and Content-Type. Call
// it before WriteHeader; f must not change.
func (w *response) Preset(f *Fields) {
	if !w.wroteHeader {
		w.preset = f
	}
}

func (w *response) has(k string) bool {
	_, ok := w.hdr[k]
	return ok || w.preset.has(k)
}

// WriteHeader starts the response with code: the status line and the
// header's fields go into the conn's buffer now.
func (w *response) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.wroteHeader {
		return
	}
	c := w.c
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		c.out = appendStatus(c.out, code)
		c.out, _ = appendHeader(c.out, w.hdr, suppressedNoBody)
		c.out = append(c.out, '\r', '\n')
		_ = c.flush()
		return
	}
	w.wroteHeader, w.status = true, code
	if cl := w.hdr.Get("Content-Length"); cl != "" {
		if v, err := strconv.ParseInt(cl, 10, 64); err == nil && v >= 0 {
			w.cl = v
		} else {
			c.s.cfg.Log.Debug("h1: invalid Content-Length", "value", cl)
			delete(w.hdr, "Content-Length")
		}
	}
	allowed := bodyAllowed(code)
	if !allowed {
		w.preset = nil // its Content-Length and Content-Type would not belong
	}
	if w.cl < 0 && w.preset != nil {
		w.cl = w.preset.length
	}
	te := w.hdr.Get("Transfer-Encoding")
	w.identity = te == "identity" && w.cl < 0 && allowed && !w.isHead
	if w.identity {
		w.closeAfter = true
	}
	if w.hdr.Get("Connection") != "" && httpguts.HeaderValuesContainsToken(w.hdr["Connection"], "close") {
		w.closeAfter, w.connClose = true, true
	}
	_, hasType := w.hdr["Content-Type"]
	hasType = hasType || (w.preset != nil && w.preset.typed)
	w.sniff = allowed && !hasType && w.hdr.Get("Content-Encoding") == "" && te == ""
	w.hasDate = w.has("Date")

	c.out = appendStatus(c.out, code)
	if w.preset != nil {
		c.out = append(c.out, w.preset.block...)
	}
	skip := suppressedNone
	switch {
	case code == http.StatusNotModified:
		skip = suppressed304
	case !allowed:
		skip = suppressedNoBody
	}
	var prefixed bool // a trailer named with http.TrailerPrefix: found in the same walk
	c.out, prefixed = appendHeader(c.out, w.hdr, skip)
	_, declared := w.hdr["Trailer"]
	w.trailers = declared || prefixed
}

// Write adds body bytes: held while the head waits for the body to
// decide its framing, in the conn's buffer once the head is out.
func (w *response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.cl >= 0 && w.written+int64(len(p)) > w.cl {
		return 0, http.ErrContentLength
	}
	if err := w.c.werr; err != nil {
		return 0, err
	}
	w.written += int64(len(p))
	if !w.committed {
		if w.cl < 0 && len(w.pend)+len(p) <= pendSize {
			w.pend = append(w.pend, p...)
			return len(p), nil
		}
		w.commit(false, p)
	}
	if w.isHead {
		return len(p), nil
	}
	if w.chunked {
		if len(p) == 0 {
			return 0, nil
		}
		w.c.out = strconv.AppendInt(w.c.out, int64(len(p)), 16)
		w.c.out = append(w.c.out, '\r', '\n')
		w.writeRaw(p)
		w.c.out = append(w.c.out, '\r', '\n')
	} else {
		w.writeRaw(p)
	}
	if err := w.c.werr; err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeRaw appends p to the conn's buffer, writing the buffer out each
// time it fills; a large p with nothing buffered is written directly.
func (w *response) writeRaw(p []byte) {
	c := w.c
	for len(p) > 0 && c.werr == nil {
		if len(c.out) == 0 && len(p) >= outSize {
			if err := c.write(p); err != nil {
				c.werr = fmt.Errorf("h1: write: %w", err)
				w.cancel()
			}
			return
		}
		if len(c.out) == cap(c.out) {
			_ = c.flush()
			continue
		}
		n := copy(c.out[len(c.out):cap(c.out)], p)
		c.out, p = c.out[:len(c.out)+n], p[n:]
	}
}

// commit completes the head: the fields only the body decides, then
// what the body held. next is the write that did not fit, if any: a
// Content-Type is sniffed from the body's start, held or not.
func (w *response) commit(done bool, next []byte) {
	w.committed = true
	c := w.c
	allowed := bodyAllowed(w.status)
	body := w.pend
	if w.sniff && len(body)+len(next) > 0 {
		var start [512]byte // all DetectContentType reads
		n := copy(start[:], body)
		n += copy(start[n:], next)
		c.out = append(c.out, "Content-Type: "...)
		c.out = append(c.out, http.DetectContentType(start[:n])...)
		c.out = append(c.out, '\r', '\n')
	}
	switch {
	case w.isHead || !allowed:
		if done && allowed && w.cl < 0 && !w.trailers && len(body) > 0 {
			c.out = appendLength(c.out, int64(len(body)))
		}
	case w.cl >= 0, w.identity:
	case done && !w.trailers:
		c.out = appendLength(c.out, int64(len(body)))
	default:
		w.chunked = true
		c.out = append(c.out, "Transfer-Encoding: chunked\r\n"...)
	}
	if !w.closeAfter && c.s.down.Load() {
		w.closeAfter = true
	}
	if w.closeAfter && !w.connClose {
		c.out = append(c.out, "Connection: close\r\n"...)
	}
	if !w.hasDate {
		c.out = append(c.out, dateLine()...)
	}
	c.out = append(c.out, '\r', '\n')
	w.pend = w.pend[:0]
	if w.isHead || !allowed || len(body) == 0 {
		return
	}
	if w.chunked {
		c.out = strconv.AppendInt(c.out, int64(len(body)), 16)
		c.out = append(c.out, '\r', '\n')
		w.writeRaw(body)
		c.out = append(c.out, '\r', '\n')
		return
	}
	w.writeRaw(body)
}

// finish ends the response once the handler has returned.
func (w *response) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true, nil)
	}
	if w.chunked {
		w.c.out = append(w.c.out, '0', '\r', '\n')
		if w.trailers {
			w.c.out = w.appendTrailers(w.c.out)
		}
		w.c.out = append(w.c.out, '\r', '\n')
	}
	if !w.isHead && w.cl >= 0 && bodyAllowed(w.status) && w.written != w.cl {
		w.closeAfter = true // too short: the next bytes would not be a response
	}
	_ = w.c.flush()
}

// appendTrailers appends the declared trailers and those named with
// http.TrailerPrefix, with their values now.
func (w *response) appendTrailers(b []byte) []byte {
	for _, decl := range w.hdr["Trailer"] {
		for _, k := range strings.Split(decl, ",") {
			k = textproto.CanonicalMIMEHeaderKey(textproto.TrimString(k))
			if k == "" || k == "Transfer-Encoding" || k == "Content-Length" || k == "Trailer" {
				continue
			}
			for _, v := range w.hdr[k] {
				b = appendField(b, k, v)
			}
		}
	}
	for k, vs := range w.hdr {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok && httpguts.ValidHeaderFieldName(name) {
			for _, v := range vs {
				b = appendField(b, name, v)
			}
		}
	}
	return b
}

// Flush sends what the response has so far (http.Flusher).
func (w *response) Flush() { _ = w.FlushError() }

// FlushError sends what the response has so far (for
// http.ResponseController).
func (w *response) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false, nil)
	}
	return w.c.flush()
}

// SetWriteDeadline moves the conn's write deadline (for
// http.ResponseController); the next request sets its own.
func (w *response) SetWriteDeadline(t time.Time) error {
	w.c.writeSet = time.Time{}
	return w.c.nc.SetWriteDeadline(t)
}

// SetReadDeadline moves the conn's read deadline; the next request's
// head sets its own.
func (w *response) SetReadDeadline(t time.Time) error {
	w.c.readKind = readNone
	return w.c.nc.SetReadDeadline(t)
}

// EnableFullDuplex: a request served here has no body.
func (w *response) EnableFullDuplex() error { return nil }

func bodyAllowed(status int) bool {
	return !(status >= 100 && status <= 199 || status == 204 || status == 304)
}

// What a head leaves out of the header map, as net/http: the framing it
// sets itself, and for a status without a body its length (and for a
// 304 its type).
const (
	suppressedNone = iota
	suppressedNoBody
	suppressed304
)

func suppressed(k string, set int) bool {
	switch k {
	case "Transfer-Encoding":
		return true
	case "Content-Length":
		return set != suppressedNone
	case "Content-Type":
		return set == suppressed304
	}
	return false
}

// appendHeader appends h's valid fields but those suppressed and the
// trailers named with http.TrailerPrefix, and reports whether it met such
// a trailer: one walk of the map per response, not two.
func appendHeader(b []byte, h http.Header, skip int) (_ []byte, prefixed bool) {
	for k, vs := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			prefixed = true
			continue
		}
		if suppressed(k, skip) || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vs {
			b = appendField(b, k, v)
		}
	}
	return b, prefixed
}

func appendStatus(b []byte, code int) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	if text := http.StatusText(code); text != "" {
		b = append(b, ' ')
		b = append(b, text...)
	} else {
		b = append(b, " status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	return append(b, '\r', '\n')
}

func appendLength(b []byte, n int64) []byte {
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

// dateField is the Date line of one second, shared by every response
// sent within it.
type dateField struct {
	unix int64
	line []byte
}

var currentDate atomic.Pointer[dateField]

func dateLine() []byte {
	now := time.Now()
	if d := currentDate.Load(); d != nil && d.unix == now.Unix() {
		return d.line
	}
	line := append([]byte("Date: "), now.UTC().Format(http.TimeFormat)...)
	line = append(line, '\r', '\n')
	currentDate.Store(&dateField{unix: now.Unix(), line: line})
	return line
}
