package edge

import (
	"context"
	ctls "crypto/tls"
	"net"
	"net/http"
	"sync"
)

// maxCorked bounds what a corked conn holds: past it, what is held and
// the new write go out together and the conn holds nothing more until
// the next cork. A corked response is small (corkedResponse), so this is
// only a backstop.
const maxCorked = 64 << 10

// corkConn is an accepted TCP conn beneath tls.Server that can hold its
// writes for the length of one small HTTP/1.1 response. net/http writes a
// response through a 4 KiB buffer, so a 4 KiB file goes out as two TLS
// records and two write(2) calls; corked, the two records leave in one.
// http.Server still sees a *tls.Conn (ALPN, h2 and r.TLS work as before);
// the handler finds the corkConn through the request's context.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	held   []byte
}

// Write sends p, or holds it while the conn is corked.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	if len(c.held)+len(p) <= maxCorked {
		c.held = append(c.held, p...)
		return len(p), nil
	}
	c.corked = false
	return c.sendHeld(p)
}

// sendHeld writes what is held and then p, in one writev(2) when both
// are there; it reports how much of p was written.
func (c *corkConn) sendHeld(p []byte) (int, error) {
	held := len(c.held)
	defer func() { c.held = c.held[:0] }()
	if len(p) == 0 {
		_, err := c.Conn.Write(c.held)
		return 0, err
	}
	bufs := net.Buffers{c.held, p}
	n, err := bufs.WriteTo(c.Conn)
	return max(int(n)-held, 0), err
}

// Cork starts holding writes. On a nil conn, Cork, send and Uncork do
// nothing. Exported for edge/h2's writer, which corks to send a batch of
// TLS records (one per 16 KiB) in one write(2); it is the conn's only
// writer while it holds the cork.
func (c *corkConn) Cork() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// Uncork sends what was held, in one write, and stops holding. Safe to
// call when not corked. A failed write is left for the next write or
// read on the conn to report, as the TLS layer above already counted the
// bytes sent.
func (c *corkConn) Uncork() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	if len(c.held) > 0 {
		_, _ = c.sendHeld(nil)
	}
}

// CloseWrite half-closes the TCP conn, when it can, as net/http does
// after some errors.
func (c *corkConn) CloseWrite() error {
	c.Uncork()
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// corkListener wraps every accepted conn in a corkConn.
type corkListener struct{ net.Listener }

func (l corkListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &corkConn{Conn: c}, nil
}

type corkKey struct{}

// corkTLS readies srv to cork its responses on ln, which it then serves
// with TLS: each accepted conn is a corkConn, kept in its context.
func corkTLS(srv *http.Server, ln net.Listener) net.Listener {
	srv.ConnContext = corkContext
	return corkListener{ln}
}

// corkContext is http.Server.ConnContext: it keeps the corkConn beneath a
// TLS conn in the connection's context.
func corkContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*ctls.Conn); ok {
		if cc, ok := tc.NetConn().(*corkConn); ok {
			return context.WithValue(ctx, corkKey{}, cc)
		}
	}
	return ctx
}

// corkFor is the conn to cork for a response to r: HTTP/1 only, where the
// handler is the conn's only writer while it runs (on h2 the conn's serve
// loop writes for many streams at once).
func corkFor(r *http.Request) *corkConn {
	if r.ProtoMajor != 1 {
		return nil
	}
	cc, _ := r.Context().Value(corkKey{}).(*corkConn)
	return cc
}

// corkedResponse is the largest body a handler corks for: two TLS
// records fit many times in maxCorked, and past a few records the saving
// is lost in the copy.
const corkedResponse = 16 << 10

// send flushes what net/http buffered for the response to w, so that
// the Uncork after it sends the response whole. Handlers call it once the
// response is written, and defer Uncork, which a panic also runs.
func (c *corkConn) send(w http.ResponseWriter) {
	if c != nil {
		_ = http.NewResponseController(w).Flush()
	}
}
