package h2

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

var errStreamReset = errors.New("h2: stream reset by the client")

// stream is one request and its response.
type stream struct {
	c  *conn
	id uint32

	cond           *sync.Cond // handler waits (body, flow control); made on first wait
	ctx            context.Context
	cancel         context.CancelFunc
	remoteClosed   bool  // END_STREAM received
	localClosed    bool  // END_STREAM or RST_STREAM queued
	closed         bool  // gone from c.streams
	err            error // why the stream closed early
	handlerRunning bool

	// response side
	sendWindow int64
	out        []byte // response bytes not yet framed
	off        int    // framed up to here
	borrowed   bool   // out is the handler's p (send), not the stream's own
	outEnd     bool   // the handler is done: END_STREAM follows out
	trailer    http.Header
	inReady    bool
	deadline   time.Time // write deadline of the response
	dlTimer    *time.Timer

	// request side
	body        body
	recvWindow  int   // what the client may still send
	recvUnacked int   // read but not yet given back
	declared    int64 // content-length, or -1
	received    int64
	readTimer   *time.Timer
}

// onHeaderBlock handles a whole header block: a new request, or a
// request's trailers.
func (c *conn) onHeaderBlock() error {
	if err := c.decode(); err != nil {
		return err
	}
	b := &c.hb
	id := b.id
	if st := c.streams[id]; st != nil {
		return c.onTrailers(st)
	}
	if id <= c.maxID {
		return http2.ConnectionError(http2.ErrCodeStreamClosed)
	}
	if c.goingAway && id > c.goAwayID {
		return nil // past our GOAWAY: ignored, the client retries elsewhere
	}
	c.maxID = id
	if b.selfDep || b.invalid {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	if c.open >= c.cfg.MaxStreams || c.running >= 2*c.cfg.MaxStreams {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeRefusedStream}
	}
	c.flood.opened()
	st := c.newStream(id)
	if b.truncated {
		st.remoteClosed = true
		c.respondDirect(st, http.StatusRequestHeaderFieldsTooLarge)
		return nil
	}
	req, code := c.newRequest(st)
	if code != http2.ErrCodeNo {
		return http2.StreamError{StreamID: id, Code: code}
	}
	st.handlerRunning = true
	c.running++
	go c.runHandler(st, req)
	return nil
}

func (c *conn) newStream(id uint32) *stream {
	st := &stream{
		c: c, id: id, sendWindow: c.peerWindow, recvWindow: c.cfg.StreamWindow,
		declared: -1, remoteClosed: c.hb.end,
		deadline: time.Now().Add(c.cfg.WriteTimeout),
	}
	st.body.st = st
	c.streams[id] = st
	c.open++
	if c.open == 1 {
		c.idle.Stop()
	}
	return st
}

// onTrailers takes the trailers that end a request body.
func (c *conn) onTrailers(st *stream) error {
	b := &c.hb
	if st.remoteClosed {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeStreamClosed}
	}
	if !b.end || b.pseudo.seen != 0 || b.invalid || b.truncated {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	if st.declared >= 0 && st.received != st.declared {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	tr := http.Header{}
	for _, f := range b.fields {
		if !connectionSpecific(f) {
			k := canonicalKey(f.Name)
			tr[k] = append(tr[k], f.Value)
		}
	}
	c.endRemote(st, tr)
	return nil
}

// newRequest builds the request from the decoded block, or says which
// error resets the stream.
func (c *conn) newRequest(st *stream) (*http.Request, http2.ErrCode) {
	b := &c.hb
	p := &b.pseudo
	if p.method == "" {
		return nil, http2.ErrCodeProtocol
	}
	if p.method == http.MethodConnect {
		if p.scheme != "" || p.path != "" || p.authority == "" {
			return nil, http2.ErrCodeProtocol
		}
	} else if p.scheme == "" || p.path == "" {
		return nil, http2.ErrCodeProtocol
	}
	hdr := make(http.Header, len(b.fields))
	var cookies []string
	for _, f := range b.fields {
		if connectionSpecific(f) {
			return nil, http2.ErrCodeProtocol
		}
		if f.Name == "cookie" {
			cookies = append(cookies, f.Value)
			continue
		}
		k := canonicalKey(f.Name)
		hdr[k] = append(hdr[k], f.Value)
	}
	if len(cookies) > 0 {
		// Cookies split across fields are joined again (RFC 9113 8.2.3).
		hdr["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	u, code := requestURL(p)
	if code != http2.ErrCodeNo {
		return nil, code
	}
	if cl := hdr["Content-Length"]; len(cl) > 0 {
		n, err := strconv.ParseInt(cl[0], 10, 64)
		if err != nil || n < 0 || (len(cl) > 1 && !allSame(cl)) {
			return nil, http2.ErrCodeProtocol
		}
		st.declared = n
		if st.remoteClosed && n != 0 {
			return nil, http2.ErrCodeProtocol
		}
	}
	host := p.authority
	if host == "" {
		host = hdr.Get("Host")
	}
	st.ctx, st.cancel = context.WithCancel(c.base)
	req := &http.Request{
		Method: p.method, URL: u, Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: hdr, Host: host, RemoteAddr: c.remote, RequestURI: p.path, TLS: c.tls,
		ContentLength: st.declared, Body: http.NoBody,
	}
	if !st.remoteClosed {
		req.Body = &st.body
		if tr := hdr["Trailer"]; len(tr) > 0 {
			req.Trailer = http.Header{}
			for _, v := range tr {
				for _, k := range strings.Split(v, ",") {
					req.Trailer[canonicalKey(strings.ToLower(strings.TrimSpace(k)))] = nil
				}
			}
		}
		if c.cfg.ReadTimeout > 0 {
			st.readTimer = time.AfterFunc(c.cfg.ReadTimeout, st.onReadTimeout)
		}
	} else {
		req.ContentLength = 0
	}
	return req.WithContext(st.ctx), http2.ErrCodeNo
}

func allSame(v []string) bool {
	for _, s := range v[1:] {
		if s != v[0] {
			return false
		}
	}
	return true
}

func requestURL(p *pseudoHeaders) (*url.URL, http2.ErrCode) {
	if p.method == http.MethodConnect {
		return &url.URL{Host: p.authority}, http2.ErrCodeNo
	}
	if p.path == "*" {
		if p.method != http.MethodOptions {
			return nil, http2.ErrCodeProtocol
		}
		return &url.URL{Path: "*"}, http2.ErrCodeNo
	}
	if p.path[0] != '/' {
		return nil, http2.ErrCodeProtocol
	}
	u, err := url.ParseRequestURI(p.path)
	if err != nil {
		return nil, http2.ErrCodeProtocol
	}
	return u, http2.ErrCodeNo
}

// endRemote: the client finished its side (END_STREAM, with trailers tr).
func (c *conn) endRemote(st *stream, tr http.Header) {
	st.remoteClosed = true
	if st.readTimer != nil {
		st.readTimer.Stop()
	}
	st.body.finish(tr)
	if st.localClosed {
		c.closeStream(st, nil)
	}
}

// resetStream queues RST_STREAM and closes the stream if it exists.
func (c *conn) resetStream(id uint32, code http2.ErrCode) {
	if !c.flood.control() {
		code = http2.ErrCodeEnhanceYourCalm
		c.connFailed = true
		c.goAway(c.maxID, code)
		return
	}
	c.wbuf = appendRST(c.wbuf, id, code)
	if st := c.streams[id]; st != nil {
		st.localClosed = true
		c.closeStream(st, errStreamReset)
	}
}

// closeStream removes st; err (nil after a complete exchange) is what
// the handler's reads and writes return from now on.
func (c *conn) closeStream(st *stream, err error) {
	if st.closed {
		return
	}
	st.closed = true
	if st.err == nil {
		st.err = err
	}
	delete(c.streams, st.id)
	c.open--
	if c.open == 0 && !c.dead {
		c.idle.Reset(c.cfg.IdleTimeout)
	}
	if st.cancel != nil && err != nil {
		st.cancel()
	}
	if st.readTimer != nil {
		st.readTimer.Stop()
	}
	if st.dlTimer != nil {
		st.dlTimer.Stop()
	}
	st.out, st.off = nil, 0
	if n := st.body.discard(); n > 0 {
		c.giveBackConn(n)
	}
	if st.cond != nil {
		st.cond.Broadcast()
	}
	c.wake.Signal() // the writer may be waiting for the last stream
}

// onReadTimeout resets a stream whose body did not arrive in ReadTimeout.
func (st *stream) onReadTimeout() {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !st.closed && !st.remoteClosed {
		st.body.fail(deadlineErr)
		c.resetStream(st.id, http2.ErrCodeCancel)
		c.kick()
	}
}

// wait blocks the handler until the stream changes.
func (st *stream) wait() {
	if st.cond == nil {
		st.cond = sync.NewCond(&st.c.mu)
	}
	st.cond.Wait()
}

func (st *stream) signal() {
	if st.cond != nil {
		st.cond.Broadcast()
	}
}
