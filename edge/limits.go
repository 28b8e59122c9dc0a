package edge

import (
	"net/http"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Limits are the protocol limits of every user-facing listener: one set,
// applied to HTTP/1.1, HTTP/2 and HTTP/3 alike, so no protocol is the
// easy way around the others (HTTP/3 used to accept a 900 KB header block
// that h1 and h2 refused). Zero fields take the defaults.
type Limits struct {
	// MaxHeaderBytes caps a request's header block (h2 and h3 advertise
	// it as SETTINGS_MAX_HEADER_LIST_SIZE / MAX_FIELD_SECTION_SIZE).
	MaxHeaderBytes int
	// ReadHeaderTimeout bounds the wait for a request's headers on h1 and
	// h2, and the QUIC handshake on h3.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration
	// IdleTimeout closes a connection with no request in flight.
	IdleTimeout time.Duration
	// WriteTimeout is the longest one write to the client may block: a
	// reader too slow to take 32 KiB in this time loses the stream (h3,
	// h1) or the connection (h2), whatever the response's size.
	// net/http also bounds the TLS handshake (h1, h2) by the smaller of
	// this and ReadHeaderTimeout.
	WriteTimeout time.Duration
	// MaxStreams bounds concurrent requests per h2 or h3 connection.
	MaxStreams int
	// StreamWindow and ConnWindow bound the request body bytes the node
	// takes from a client before the handler reads them, per stream and
	// per connection (h2, h3), so waiting uploads cost little memory.
	StreamWindow, ConnWindow int
}

// DefaultLimits returns the limits a node uses unless told otherwise.
func DefaultLimits() Limits {
	return Limits{
		MaxHeaderBytes:    64 << 10,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		WriteTimeout:      30 * time.Second,
		MaxStreams:        100,
		StreamWindow:      256 << 10,
		ConnWindow:        1 << 20,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxHeaderBytes, d.MaxHeaderBytes)
	set(&l.MaxStreams, d.MaxStreams)
	set(&l.StreamWindow, d.StreamWindow)
	set(&l.ConnWindow, d.ConnWindow)
	setD(&l.ReadHeaderTimeout, d.ReadHeaderTimeout)
	setD(&l.ReadTimeout, d.ReadTimeout)
	setD(&l.IdleTimeout, d.IdleTimeout)
	setD(&l.WriteTimeout, d.WriteTimeout)
	return l
}

// applyHTTP sets the limits on an h1/h2 server.
func (l Limits) applyHTTP(s *http.Server) {
	s.ReadHeaderTimeout = l.ReadHeaderTimeout
	s.ReadTimeout = l.ReadTimeout
	s.IdleTimeout = l.IdleTimeout
	// Every request starts with this write deadline, set by the server
	// itself when it reads the request (h1) or opens the stream (h2), at
	// no cost per request; writeProgress moves it on while a large
	// response is being written.
	s.WriteTimeout = l.WriteTimeout
	s.MaxHeaderBytes = l.MaxHeaderBytes
	s.HTTP2 = &http.HTTP2Config{
		MaxConcurrentStreams: l.MaxStreams,
		// The protocol's default frame size: a larger HEADERS frame is a
		// FRAME_SIZE_ERROR (RFC 9113 4.2, h2spec 4.2/3). Go would accept
		// 1 MiB frames, which no client needs.
		MaxReadFrameSize:              16 << 10,
		MaxReceiveBufferPerStream:     l.StreamWindow,
		MaxReceiveBufferPerConnection: l.ConnWindow,
		WriteByteTimeout:              l.WriteTimeout,
		SendPingTimeout:               l.IdleTimeout / 2,
	}
}

// applyHTTP3 sets the limits on an h3 server and its QUIC transport.
func (l Limits) applyHTTP3(s *http3.Server) {
	s.MaxHeaderBytes = l.MaxHeaderBytes
	s.IdleTimeout = l.IdleTimeout
	s.QUICConfig = &quic.Config{
		HandshakeIdleTimeout:           l.ReadHeaderTimeout,
		MaxIdleTimeout:                 l.IdleTimeout,
		MaxIncomingStreams:             int64(l.MaxStreams),
		MaxIncomingUniStreams:          16, // control, QPACK encoder and decoder, and room
		InitialStreamReceiveWindow:     uint64(min(l.StreamWindow, 64<<10)),
		MaxStreamReceiveWindow:         uint64(l.StreamWindow),
		InitialConnectionReceiveWindow: uint64(min(l.ConnWindow, 128<<10)),
		MaxConnectionReceiveWindow:     uint64(l.ConnWindow),
		Allow0RTT:                      false,
	}
}

// writeProgress enforces Limits.WriteTimeout (and on h3, which has no
// server-wide read timeout, Limits.ReadTimeout) per request: a write gets
// a deadline at least 7/8 of the timeout away, so a large response to a
// reader that keeps up runs as long as it needs, and a reader that stops
// is cut off. The deadline is moved only when an eighth of the timeout
// has passed since it was last set: on h2 each move is a message to the
// connection's serving goroutine and a timer reset, and a small response
// used to pay three of them (13% of the node's CPU serving 4 KiB over
// h2). On h1 and h2 the server set the first deadline (applyHTTP sets
// http.Server.WriteTimeout); on h3 writeProgress sets it.
//
// On h2 and h3 it also sets the Date header from a per-second cache: both
// servers would otherwise format and allocate one per response (h1
// formats into a buffer it keeps, so h1 is left to do it).
type writeProgress struct {
	next  http.Handler
	write time.Duration
	read  time.Duration
}

func (p *writeProgress) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pw := &progressWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: p.write, set: time.Now()}
	if r.ProtoMajor >= 2 {
		w.Header()["Date"] = dateHeader()
	}
	if r.ProtoMajor == 3 {
		_ = pw.rc.SetReadDeadline(pw.set.Add(p.read))
		pw.extend(pw.set)
	}
	p.next.ServeHTTP(pw, r)
	pw.maybeExtend() // for what the server flushes after the handler returns
}

// progressWriter extends the write deadline before writes.
type progressWriter struct {
	http.ResponseWriter
	rc  *http.ResponseController
	d   time.Duration
	set time.Time // when the deadline was last moved
}

func (w *progressWriter) extend(now time.Time) {
	w.set = now
	_ = w.rc.SetWriteDeadline(now.Add(w.d))
}

// maybeExtend moves the deadline once an eighth of the timeout has gone
// by since it was last moved.
func (w *progressWriter) maybeExtend() {
	if now := time.Now(); now.Sub(w.set) >= w.d/8 {
		w.extend(now)
	}
}

func (w *progressWriter) Write(b []byte) (int, error) {
	w.maybeExtend()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *progressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
