// Package h2 is the node's own HTTP/2 server for its TLS listener. It
// plugs into http.Server through TLSNextProto["h2"], so HTTP/1.1, ALPN
// and the TLS handshake stay with net/http.
//
// Why not net/http's bundled server: it hands every frame between the
// handler, the connection's serve loop and a goroutine per write, and
// writes through a 4 KiB buffer, so a small static response costs three
// goroutine switches and a DATA frame of a large one two TLS records.
// Here one read loop owns the frames coming in, one writer goroutine
// sends everything pending in one batch (one tls.Conn.Write), and a
// handler that finished its response puts it straight into that batch.
package h2

import (
	"context"
	ctls "crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Config holds the protocol limits. Zero fields take the defaults.
type Config struct {
	MaxStreams        int           // concurrent streams per connection (100)
	MaxHeaderBytes    int           // SETTINGS_MAX_HEADER_LIST_SIZE (64 KiB)
	StreamWindow      int           // request body bytes taken ahead per stream (256 KiB)
	ConnWindow        int           // and per connection (1 MiB)
	IdleTimeout       time.Duration // a connection with no stream open is closed (2 min)
	ReadHeaderTimeout time.Duration // bound on the client preface (10 s)
	ReadTimeout       time.Duration // bound on a request body, per stream (none)
	WriteTimeout      time.Duration // bound on one write to the client (30 s)
	Log               *slog.Logger
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxStreams, 100)
	def(&c.MaxHeaderBytes, 64<<10)
	def(&c.StreamWindow, 256<<10)
	def(&c.ConnWindow, 1<<20)
	c.StreamWindow = min(c.StreamWindow, maxWindow)
	c.ConnWindow = min(max(c.ConnWindow, 65535), maxWindow)
	defD(&c.IdleTimeout, 2*time.Minute)
	defD(&c.ReadHeaderTimeout, 10*time.Second)
	defD(&c.WriteTimeout, 30*time.Second)
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Server serves HTTP/2 connections handed over by an http.Server.
type Server struct {
	cfg Config

	mu       sync.Mutex
	conns    map[*conn]struct{}
	shutdown bool
}

// New returns a server with cfg's limits.
func New(cfg Config) *Server {
	return &Server{cfg: cfg.withDefaults(), conns: map[*conn]struct{}{}}
}

// Install makes hs serve h2 with s: ALPN still offers h2 (hs's TLS config
// lists it), and hs.Shutdown sends GOAWAY on every connection and waits
// for their streams, as with net/http's own HTTP/2.
func (s *Server) Install(hs *http.Server) {
	if hs.TLSNextProto == nil {
		hs.TLSNextProto = map[string]func(*http.Server, *ctls.Conn, http.Handler){}
	}
	hs.TLSNextProto["h2"] = s.ServeConn
	hs.RegisterOnShutdown(s.startShutdown)
}

// ServeConn serves one connection until it closes. The handler net/http
// passes carries the connection's base context (BaseContext).
func (s *Server) ServeConn(hs *http.Server, tc *ctls.Conn, h http.Handler) {
	base := context.Background()
	if bc, ok := h.(interface{ BaseContext() context.Context }); ok {
		base = bc.BaseContext()
	}
	state := tc.ConnectionState()
	s.serveConn(tc, &state, h, base)
}

// serveConn serves nc, whose TLS state is state.
func (s *Server) serveConn(nc net.Conn, state *ctls.ConnectionState, h http.Handler, base context.Context) {
	c := newConn(s, nc, state, h, base)
	refused := !s.track(c)
	defer s.untrack(c)
	c.serve(refused)
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[c] = struct{}{}
	return !s.shutdown
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// startShutdown sends GOAWAY on every connection: they finish the
// streams they have and close.
func (s *Server) startShutdown() {
	s.mu.Lock()
	s.shutdown = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.gracefulClose()
	}
}
