package h1

import (
	"context"
	ctls "crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"
)

// conn is one client connection: its read buffer, its write buffer and
// the deadlines it set last.
type conn struct {
	s      *Server
	base   context.Context
	nc     net.Conn
	tls    *ctls.ConnectionState
	remote string

	buf  []byte // read buffer: buf[r:w] is read and not yet parsed
	r, w int
	out  []byte  // the response being built, sent on flush
	outp *[]byte // out's pool entry, while a request holds it

	idleMu sync.Mutex
	idle   bool // waiting for a request with nothing read: Shutdown may wake it

	readKind int       // which deadline the conn reads under
	readSet  time.Time // when the read deadline was last set
	writeSet time.Time // when the write deadline was last set
	werr     error     // the first failed write: the conn is done

	watchT   *time.Timer   // starts the watch on a request that takes long
	watchMu  sync.Mutex    // guards watching and stopped
	watching bool          // watch is in its Read
	stopped  bool          // the handler is done: watch must not start
	watched  chan struct{} // watch's token: it has returned
	gone     bool          // watch saw the client leave
	armed    bool          // the timer is set for this request

	corker corker // the TCP conn beneath TLS, when it can hold writes

	res response
}

// corker is the node's corkable TCP conn (edge/cork.go) beneath TLS: a
// write of more than one TLS record (16 KiB) leaves in one write(2)
// rather than one per record.
type corker interface {
	Cork()
	Uncork()
}

// write writes p to the conn, corked when it spans TLS records.
func (c *conn) write(p []byte) error {
	if c.corker != nil && len(p) > 16<<10 {
		c.corker.Cork()
		defer c.corker.Uncork()
	}
	_, err := c.nc.Write(p)
	return err
}

// watchDelay is how long a request runs before its conn is watched for
// the client leaving: most answer well within it and pay nothing (a
// timer reset and stop); a request to a guest or an origin that takes
// longer is cancelled when its client goes, as net/http's background
// read does for every request.
const watchDelay = 5 * time.Millisecond

const (
	readNone = iota
	readIdle
	readHead
)

// outSize is the write buffer: a response up to this size leaves in one
// write (one TLS record up to 16 KiB).
const outSize = 32 << 10

func newConn(s *Server, base context.Context, nc net.Conn, state *ctls.ConnectionState) *conn {
	c := &conn{
		s: s, base: base, nc: nc, tls: state, remote: nc.RemoteAddr().String(),
		buf: make([]byte, min(4<<10, s.cfg.MaxHeadBytes)),
	}
	if tc, ok := nc.(*ctls.Conn); ok {
		c.corker, _ = tc.NetConn().(corker)
	}
	return c
}

// serve answers requests in order until the conn closes, fails, or goes
// to net/http.
func (c *conn) serve() {
	first := true
	for {
		h, ok := c.readHead(first)
		first = false
		if !ok {
			c.close()
			return
		}
		if h.handOff {
			c.handOff()
			return
		}
		keep := c.serveRequest(&h)
		c.r += h.size
		if !keep {
			c.closeGracefully()
			return
		}
		if c.r == c.w {
			c.r, c.w = 0, 0
		}
	}
}

// readHead reads until buf holds a whole head and parses it. It reports
// false when the conn is to close: EOF, an error, a timeout, shutdown.
// A head that does not fit in buf is handed off whole with what follows.
func (c *conn) readHead(first bool) (head, bool) {
	if first {
		c.setReadDeadline(readHead, time.Now())
	}
	for {
		n := headEnd(c.buf[c.r:c.w])
		if n == bareLF {
			return head{handOff: true}, true
		}
		if n >= 0 {
			if c.readKind == readHead {
				c.readKind = readNone // the next head has its own deadline
			}
			return parseHead(c.buf[c.r : c.r+n]), true
		}
		if c.r > 0 { // keep the partial head at the start
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		}
		if c.w == len(c.buf) {
			if len(c.buf) >= c.s.cfg.MaxHeadBytes {
				return head{handOff: true}, true
			}
			c.buf = append(c.buf, make([]byte, min(len(c.buf), c.s.cfg.MaxHeadBytes-len(c.buf)))...)
		}
		if c.w == 0 {
			if !first {
				c.setReadDeadline(readIdle, time.Now())
			}
			if !c.setIdle(true) { // after the deadline, which a wake-up overrides
				return head{}, false
			}
		} else {
			c.setReadDeadline(readHead, time.Now())
		}
		n, err := c.nc.Read(c.buf[c.w:])
		c.setIdle(false)
		c.w += n
		if err != nil {
			return head{}, false
		}
		// A head that has started but is not whole gets ReadHeaderTimeout
		// from now, on the next turn; a whole one costs no deadline.
	}
}

// setReadDeadline moves the read deadline for kind. An idle deadline is
// left where it is while it is at least 7/8 of IdleTimeout away: one
// deadline change for many requests on a busy conn.
func (c *conn) setReadDeadline(kind int, now time.Time) {
	switch kind {
	case readIdle:
		if c.readKind == readIdle && now.Sub(c.readSet) < c.s.cfg.IdleTimeout/8 {
			return
		}
		_ = c.nc.SetReadDeadline(now.Add(c.s.cfg.IdleTimeout))
	case readHead:
		if c.readKind == readHead {
			return // the head's deadline runs from its first byte
		}
		_ = c.nc.SetReadDeadline(now.Add(c.s.cfg.ReadHeaderTimeout))
	}
	c.readKind, c.readSet = kind, now
}

// setIdle marks the conn idle (or not) for Shutdown; it reports false
// when the server is shutting down and the conn should close now.
func (c *conn) setIdle(idle bool) bool {
	c.idleMu.Lock()
	c.idle = idle
	c.idleMu.Unlock()
	return !idle || !c.s.shuttingDown()
}

// wakeIfIdle ends an idle conn's wait for a request (under s.mu).
func (c *conn) wakeIfIdle() {
	c.idleMu.Lock()
	defer c.idleMu.Unlock()
	if c.idle {
		_ = c.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

// startWrite gives a response its write deadline: at least 7/8 of
// WriteTimeout away, moved only when an eighth has passed.
func (c *conn) startWrite(now time.Time) {
	if d := c.s.cfg.WriteTimeout; now.Sub(c.writeSet) >= d/8 {
		_ = c.nc.SetWriteDeadline(now.Add(d))
		c.writeSet = now
	}
}

// serveRequest runs the handler for h and finishes its response; it
// reports whether the conn may carry another request.
func (c *conn) serveRequest(h *head) (keep bool) {
	c.s.served.Add(1)
	now := time.Now()
	c.startWrite(now)
	ctx, cancel := context.WithCancel(c.base)
	defer cancel()
	req := (&http.Request{
		Method: h.method, URL: h.url, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h.header, Body: http.NoBody, Host: h.host, RemoteAddr: c.remote,
		RequestURI: h.target, TLS: c.tls, Close: h.close,
	}).WithContext(ctx)
	w := &c.res
	w.reset(c, req, cancel)
	c.getOut()
	defer func() {
		if p := recover(); p != nil {
			keep = false
			c.stopWatch()
			if p != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.s.cfg.Log.Error("http: panic serving", "remote", c.remote, "panic", fmt.Sprint(p), "stack", string(buf))
			}
			c.out = c.out[:0]
		}
	}()
	c.armWatch()
	c.s.handler.ServeHTTP(w, req)
	c.stopWatch()
	w.finish()
	c.putOut()
	return !w.closeAfter && !c.gone && c.werr == nil && !c.s.shuttingDown()
}

// armWatch starts the timer that starts watch.
func (c *conn) armWatch() {
	c.stopped, c.armed = false, true
	if c.watchT == nil {
		c.watched = make(chan struct{}, 1)
		c.watchT = time.AfterFunc(watchDelay, c.watch)
		return
	}
	c.watchT.Reset(watchDelay)
}

// watch reads from the conn while the handler runs (in the timer's
// goroutine): the client closing the conn cancels the request; bytes
// of a next request are kept for it. It stops at the first read.
func (c *conn) watch() {
	defer func() { c.watched <- struct{}{} }()
	c.watchMu.Lock()
	if c.stopped || c.w == len(c.buf) {
		c.watchMu.Unlock()
		return
	}
	_ = c.nc.SetReadDeadline(time.Time{}) // before stopWatch may move it
	c.watching = true
	c.watchMu.Unlock()
	n, err := c.nc.Read(c.buf[c.w:])
	c.w += n
	c.watchMu.Lock()
	c.watching = false
	stopped := c.stopped
	c.watchMu.Unlock()
	if err != nil && !(stopped && isTimeout(err)) {
		c.gone = true
		c.res.cancel()
	}
}

// stopWatch ends the watch, if it started, before the conn reads again.
func (c *conn) stopWatch() {
	if !c.armed {
		return
	}
	c.armed = false
	if c.watchT.Stop() {
		return // it never started
	}
	c.watchMu.Lock()
	c.stopped = true
	if c.watching {
		_ = c.nc.SetReadDeadline(time.Unix(1, 0))
	}
	c.watchMu.Unlock()
	<-c.watched
	c.readKind = readNone
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// outPool holds write buffers between requests: a conn waiting for its
// next request (most of them, with many clients) holds none.
var outPool = sync.Pool{New: func() any { b := make([]byte, 0, outSize); return &b }}

func (c *conn) getOut() {
	c.outp = outPool.Get().(*[]byte)
	c.out = (*c.outp)[:0]
}

func (c *conn) putOut() {
	if c.outp == nil {
		return
	}
	if cap(c.out) == outSize { // not one a huge head grew
		*c.outp = c.out[:0]
		outPool.Put(c.outp)
	}
	c.outp, c.out = nil, nil
}

// flush writes out what the response has built.
func (c *conn) flush() error {
	if c.werr != nil {
		return c.werr
	}
	if len(c.out) == 0 {
		return nil
	}
	err := c.write(c.out)
	c.out = c.out[:0]
	if err != nil {
		c.werr = fmt.Errorf("h1: write: %w", err)
		if c.res.cancel != nil {
			c.res.cancel() // the client is gone: the handler may stop
		}
	}
	return c.werr
}

// handOff gives the conn, with what was read and not served, to net/http.
func (c *conn) handOff() {
	c.s.handed.Add(1)
	c.s.untrack(c)
	pending := append([]byte(nil), c.buf[c.r:c.w]...)
	_ = c.nc.SetDeadline(time.Time{})
	c.s.handOff(&HandedConn{Conn: c.nc, pending: pending, TLS: c.tls, Context: c.base})
}

func (c *conn) close() { _ = c.nc.Close() }

// closeGracefully closes after a response that asked for it: the write
// side first, then what the client still sends is read for a moment, so
// the kernel does not answer it with a reset that could destroy the
// response on its way (net/http does the same).
func (c *conn) closeGracefully() {
	defer c.close()
	if c.werr != nil {
		return
	}
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, _ = io.Copy(io.Discard, io.LimitReader(c.nc, 256<<10))
}

// HandedConn is a conn h1 gave up: reads return the bytes h1 had read
// first. TLS and Context are the conn's, for the server it goes to (a
// net/http server does not see a *tls.Conn here, so it fills no r.TLS).
type HandedConn struct {
	net.Conn
	pending []byte
	TLS     *ctls.ConnectionState
	Context context.Context
}

func (c *HandedConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes the conn beneath when it can.
func (c *HandedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Listener is a net.Listener of conns handed to it, for net/http.
type Listener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

// NewListener returns a listener reporting addr.
func NewListener(addr net.Addr) *Listener {
	return &Listener{ch: make(chan net.Conn), done: make(chan struct{}), addr: addr}
}

// HandOff gives c to the listener's server, or closes it once the
// listener is closed.
func (l *Listener) HandOff(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *Listener) Addr() net.Addr { return l.addr }
