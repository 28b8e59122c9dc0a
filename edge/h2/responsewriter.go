package h2

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// bufSize is what a response writer holds before handing bytes to the
// connection: a 4 KiB or 16 KiB response goes over whole, with its
// headers, when the handler returns.
const bufSize = 32 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, bufSize); return &b }}

// responseWriter is the http.ResponseWriter of one stream. Only the
// handler's goroutine uses it; it takes c.mu when it hands bytes over.
type responseWriter struct {
	c        *conn
	st       *stream
	hdr      http.Header
	status   int
	wrote    bool // status fixed
	sent     bool // HEADERS queued
	head     bool
	buf      *[]byte
	written  int64
	declared int64   // Content-Length the handler set, or -1
	preset   *Fields // fields sent beside hdr (Preset), or nil
}

func (c *conn) runHandler(st *stream, req *http.Request) {
	rw := &responseWriter{c: c, st: st, head: req.Method == http.MethodHead, declared: -1}
	defer func() {
		p := recover()
		c.handlerDone(rw, p)
	}()
	c.h.ServeHTTP(rw, req)
}

func (c *conn) handlerDone(rw *responseWriter, p any) {
	st := rw.st
	if p != nil {
		if p != http.ErrAbortHandler {
			c.cfg.Log.Error("h2: handler panic", "panic", p, "stack", string(debug.Stack()))
		}
		c.mu.Lock()
		if !st.closed {
			c.resetStream(st.id, http2.ErrCodeInternal)
			c.kick()
		}
	} else {
		_ = rw.flush(true)
		c.mu.Lock()
		if st.err == nil {
			c.flood.completed()
		}
	}
	st.handlerRunning = false
	c.running--
	c.mu.Unlock()
	if st.cancel != nil {
		st.cancel()
	}
	if rw.buf != nil {
		*rw.buf = (*rw.buf)[:0]
		bufPool.Put(rw.buf)
		rw.buf = nil
	}
}

func (rw *responseWriter) Header() http.Header {
	if rw.hdr == nil {
		rw.hdr = make(http.Header, 8)
	}
	return rw.hdr
}

func (rw *responseWriter) WriteHeader(code int) {
	if rw.wrote {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("h2: invalid WriteHeader code %v", code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		rw.informational(code)
		return
	}
	rw.status, rw.wrote = code, true
	rw.declared = rw.presetLength()
	if cl := rw.Header()["Content-Length"]; len(cl) == 1 {
		if n, err := strconv.ParseInt(cl[0], 10, 64); err == nil && n >= 0 {
			rw.declared = n
		}
	}
}

// informational sends a 1xx response at once (103 Early Hints).
func (rw *responseWriter) informational(code int) {
	c := rw.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !rw.st.closed {
		c.encodeHeaders(rw.st.id, code, rw.hdr, nil, "", "", false)
		c.kick()
	}
}

func (rw *responseWriter) Write(p []byte) (int, error) {
	if !rw.wrote {
		rw.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(rw.status) {
		return 0, http.ErrBodyNotAllowed
	}
	rw.written += int64(len(p))
	if rw.declared >= 0 && rw.written > rw.declared {
		return 0, http.ErrContentLength
	}
	if rw.head {
		return len(p), nil
	}
	if rw.buf == nil {
		rw.buf = bufPool.Get().(*[]byte)
	}
	if len(*rw.buf)+len(p) <= bufSize {
		*rw.buf = append(*rw.buf, p...)
		return len(p), nil
	}
	if err := rw.flush(false); err != nil {
		return 0, err
	}
	if len(p) <= bufSize {
		*rw.buf = append(*rw.buf, p...)
		return len(p), nil
	}
	if err := rw.send(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (rw *responseWriter) WriteString(s string) (int, error) {
	if rw.buf == nil {
		rw.buf = bufPool.Get().(*[]byte)
	}
	if len(*rw.buf)+len(s) <= bufSize && rw.wrote && !rw.head && bodyAllowed(rw.status) &&
		(rw.declared < 0 || rw.written+int64(len(s)) <= rw.declared) {
		rw.written += int64(len(s))
		*rw.buf = append(*rw.buf, s...)
		return len(s), nil
	}
	return rw.Write([]byte(s))
}

func (rw *responseWriter) Flush() { _ = rw.FlushError() }

// FlushError sends the headers and what is buffered (http.ResponseController).
func (rw *responseWriter) FlushError() error {
	if !rw.wrote {
		rw.WriteHeader(http.StatusOK)
	}
	return rw.flush(false)
}

// SetWriteDeadline bounds how long the response may wait on the client
// (http.ResponseController); zero means no bound.
func (rw *responseWriter) SetWriteDeadline(t time.Time) error {
	c := rw.c
	c.mu.Lock()
	rw.st.deadline = t
	c.mu.Unlock()
	return nil
}

// SetReadDeadline bounds the wait for the request body.
func (rw *responseWriter) SetReadDeadline(t time.Time) error {
	c := rw.c
	st := rw.st
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.remoteClosed || st.closed {
		return nil
	}
	if st.readTimer == nil {
		if t.IsZero() {
			return nil
		}
		st.readTimer = time.AfterFunc(time.Until(t), st.onReadTimeout)
		return nil
	}
	if t.IsZero() {
		st.readTimer.Stop()
		return nil
	}
	st.readTimer.Reset(time.Until(t))
	return nil
}

// EnableFullDuplex: HTTP/2 always allows reading the body while writing.
func (rw *responseWriter) EnableFullDuplex() error { return nil }

// send hands a large p over without copying it: what does not go
// straight into the batch is lent to the stream, and the handler waits
// until the writer has framed all of it (p is the handler's again when
// Write returns).
func (rw *responseWriter) send(p []byte) error {
	c, st := rw.c, rw.st
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := rw.usable(); err != nil {
		return err
	}
	if !rw.sent {
		rw.sendHeaders(false, false)
	}
	for len(st.out) > st.off && !st.closed {
		st.wait() // what was buffered before goes first
	}
	if err := rw.usable(); err != nil {
		return err
	}
	st.out, st.off, st.borrowed = nil, 0, true
	c.queueBody(st, p, false)
	c.kick()
	for len(st.out) > st.off && !st.closed {
		st.wait()
	}
	st.out, st.off, st.borrowed = nil, 0, false
	return rw.usable()
}

// usable reports why the stream can take no more, under c.mu.
func (rw *responseWriter) usable() error {
	st := rw.st
	if st.closed || st.localClosed || rw.c.dead || rw.c.connFailed {
		if st.err != nil {
			return st.err
		}
		return errConnClosed
	}
	return nil
}

// waitRoom blocks while the stream has more than highWater bytes
// waiting for the client.
func (rw *responseWriter) waitRoom() error {
	st := rw.st
	for len(st.out)-st.off > highWater && !st.closed {
		st.wait()
	}
	return rw.usable()
}

// flush hands the buffered bytes to the connection; final also ends the
// response (the handler returned).
func (rw *responseWriter) flush(final bool) error {
	c, st := rw.c, rw.st
	if final && !rw.wrote {
		rw.WriteHeader(http.StatusOK)
	}
	var p []byte
	if rw.buf != nil {
		p = *rw.buf
	}
	var trailer http.Header
	if final {
		trailer = rw.trailers()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := rw.usable(); err != nil {
		return err
	}
	if rw.sent && len(p) == 0 && !final {
		return nil
	}
	if !rw.sent {
		rw.sendHeaders(final, final && len(p) == 0 && trailer == nil)
	}
	if rw.buf != nil {
		*rw.buf = (*rw.buf)[:0]
	}
	if st.localClosed {
		c.kick()
		return nil
	}
	if final {
		st.trailer = trailer
	}
	if len(p) > 0 || final {
		c.queueBody(st, p, final && trailer == nil)
	}
	if final && trailer != nil {
		st.outEnd = true
		c.makeReady(st)
	}
	c.kick()
	if final {
		return nil
	}
	return rw.waitRoom()
}

// sendHeaders queues the response's HEADERS; end sets END_STREAM. When
// the handler already returned (final), the body's length is known.
func (rw *responseWriter) sendHeaders(final, end bool) {
	rw.sent = true
	cl := ""
	n := 0
	if rw.buf != nil {
		n = len(*rw.buf)
	}
	if final && rw.hdr["Content-Length"] == nil && rw.presetLength() < 0 && rw.hdr["Trailer"] == nil && !rw.hasTrailerPrefix() &&
		bodyAllowed(rw.status) && (n > 0 || !rw.head) {
		cl = strconv.Itoa(n)
	}
	ct := ""
	if _, ok := rw.hdr["Content-Type"]; !ok && (rw.preset == nil || !rw.preset.typed) && n > 0 && bodyAllowed(rw.status) && rw.hdr["Content-Encoding"] == nil {
		ct = http.DetectContentType((*rw.buf)[:min(n, 512)])
	}
	rw.c.encodeHeaders(rw.st.id, rw.status, rw.hdr, rw.preset, cl, ct, end)
	if end {
		rw.c.localDone(rw.st)
	}
}

func (rw *responseWriter) hasTrailerPrefix() bool {
	for k := range rw.hdr {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

// trailers collects the trailers the handler declared and set, or nil.
func (rw *responseWriter) trailers() http.Header {
	var tr http.Header
	add := func(k string, v []string) {
		if len(v) == 0 {
			return
		}
		if tr == nil {
			tr = http.Header{}
		}
		tr[http.CanonicalHeaderKey(k)] = v
	}
	for _, decl := range rw.hdr["Trailer"] {
		for _, k := range strings.Split(decl, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			add(k, rw.hdr[k])
		}
	}
	for k, v := range rw.hdr {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			add(strings.TrimPrefix(k, http.TrailerPrefix), v)
		}
	}
	return tr
}

func bodyAllowed(status int) bool {
	return !(status >= 100 && status <= 199 || status == http.StatusNoContent || status == http.StatusNotModified)
}

// skipResponseHeader: fields HTTP/2 does not carry, and trailers sent
// later.
func skipResponseHeader(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Trailer":
		return true
	}
	return strings.HasPrefix(k, http.TrailerPrefix)
}

// encodeHeaders queues a HEADERS block (a status of 0: trailers): h's
// fields and then pre's, under c.mu, so blocks reach the wire in the
// order they were encoded, as HPACK requires.
func (c *conn) encodeHeaders(id uint32, status int, h http.Header, pre *Fields, cl, ct string, end bool) {
	c.hbuf.Reset()
	if status != 0 {
		_ = c.henc.WriteField(hpack.HeaderField{Name: ":status", Value: StatusValue(status)})
	}
	for k, vv := range h {
		if status != 0 && skipResponseHeader(k) {
			continue
		}
		name := FieldName(k)
		if !httpguts.ValidHeaderFieldName(name) {
			continue
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				continue
			}
			_ = c.henc.WriteField(hpack.HeaderField{Name: name, Value: v, Sensitive: name == "set-cookie"})
		}
	}
	c.writePreset(pre)
	if ct != "" {
		_ = c.henc.WriteField(hpack.HeaderField{Name: "content-type", Value: ct})
	}
	if cl != "" {
		_ = c.henc.WriteField(hpack.HeaderField{Name: "content-length", Value: cl})
	}
	c.wbuf = appendHeaderBlock(c.wbuf, id, c.hbuf.Bytes(), end, c.peerFrame)
}

// statusValues are the :status values 100-599, formatted once.
var statusValues = func() (v [500]string) {
	for i := range v {
		v[i] = strconv.Itoa(100 + i)
	}
	return v
}()

// StatusValue is the :status value HTTP/2 and HTTP/3 send for code, the
// valid ones without formatting per response.
func StatusValue(code int) string {
	if code >= 100 && code < 600 {
		return statusValues[code-100]
	}
	return strconv.Itoa(code)
}

// respondDirect answers a request the handler never sees (431).
func (c *conn) respondDirect(st *stream, code int) {
	c.encodeHeaders(st.id, code, nil, nil, "0", "", true)
	c.localDone(st)
}
