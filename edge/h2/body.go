package h2

import (
	"errors"
	"io"
	"net/http"
)

var errBodyClosed = errors.New("h2: read on closed body")

// body is a request body: the DATA the client sent and the handler has
// not read yet, at most the stream window. Reading gives the window back.
type body struct {
	st      *stream
	buf     []byte
	off     int
	eof     bool
	err     error
	closed  bool // the handler closed it: DATA is dropped
	trailer http.Header
}

// put takes a DATA payload (under c.mu).
func (b *body) put(p []byte) {
	if len(p) == 0 {
		return
	}
	if b.closed {
		b.st.c.consumed(b.st, len(p))
		return
	}
	if b.off > 0 && b.off == len(b.buf) {
		b.buf, b.off = b.buf[:0], 0
	}
	b.buf = append(b.buf, p...)
	b.st.signal()
}

func (b *body) finish(tr http.Header) {
	b.eof = true
	b.trailer = tr
	b.st.signal()
}

func (b *body) fail(err error) {
	if b.err == nil {
		b.err = err
	}
	b.st.signal()
}

// discard drops what is buffered and reports how many bytes that was.
func (b *body) discard() int {
	n := len(b.buf) - b.off
	b.buf, b.off = nil, 0
	return n
}

func (b *body) Read(p []byte) (int, error) {
	st := b.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if b.closed {
			return 0, errBodyClosed
		}
		if n := len(b.buf) - b.off; n > 0 {
			n = copy(p, b.buf[b.off:])
			b.off += n
			c.consumed(st, n)
			return n, nil
		}
		if b.err != nil {
			return 0, b.err
		}
		if b.eof {
			return 0, io.EOF
		}
		if st.closed {
			if st.err != nil {
				return 0, st.err
			}
			return 0, io.ErrUnexpectedEOF
		}
		st.wait()
	}
}

// Close drops the rest of the body; the window goes back to the client.
func (b *body) Close() error {
	c := b.st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !b.closed {
		b.closed = true
		if n := b.discard(); n > 0 {
			c.giveBackConn(n)
		}
		c.kick()
	}
	return nil
}

// consumed gives n read bytes back to the client's windows, in updates
// of at least a quarter window.
func (c *conn) consumed(st *stream, n int) {
	c.giveBackConn(n)
	st.recvUnacked += n
	if !st.remoteClosed && st.recvUnacked >= c.cfg.StreamWindow/4 {
		st.recvWindow += st.recvUnacked
		c.wbuf = appendWindowUpdate(c.wbuf, st.id, uint32(st.recvUnacked))
		st.recvUnacked = 0
	}
	c.kick()
}

// giveBackConn returns n bytes to the connection window.
func (c *conn) giveBackConn(n int) {
	c.recvUnacked += n
	if c.recvUnacked >= c.cfg.ConnWindow/4 {
		c.recvWindow += c.recvUnacked
		c.wbuf = appendWindowUpdate(c.wbuf, 0, uint32(c.recvUnacked))
		c.recvUnacked = 0
	}
}
