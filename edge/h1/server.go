// Package h1 is the node's own HTTP/1.1 server for the common request: a
// GET or HEAD without a body. Everything else, and anything it is unsure
// of, it hands with the connection to a net/http server, which serves
// that request and the rest of the connection as it always has: h1 never
// reads a request body, so it adds no request-smuggling surface of its
// own.
//
// Why not net/http for all: per request it allocates a bufio reader and
// writer's worth of state, a textproto reader, a response with a header
// map that grows past 8 fields, sorts the fields and cleans each value
// when writing them, starts a background read and stops it with two more
// deadline changes. Here a head is parsed from the conn's own buffer, the
// response is built in the conn's own buffer and leaves in one write, and
// a response's prepared fields (Fields) are copied as they are.
package h1

import (
	"context"
	ctls "crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Config holds the limits. Zero fields take the defaults.
type Config struct {
	// MaxHeadBytes is the largest head h1 parses itself (8 KiB); a
	// larger one goes to net/http, which applies MaxHeaderBytes.
	MaxHeadBytes      int
	ReadHeaderTimeout time.Duration // a head must arrive within this of its first byte (10 s)
	IdleTimeout       time.Duration // a conn waits this long for its next request (2 min)
	WriteTimeout      time.Duration // each response starts with at least 7/8 of this (30 s)
	Log               *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxHeadBytes <= 0 {
		c.MaxHeadBytes = 8 << 10
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = 10 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 2 * time.Minute
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Server serves HTTP/1.1 connections with handler, handing what it does
// not serve to handOff (net/http, through a Listener).
type Server struct {
	cfg     Config
	handler http.Handler
	handOff func(net.Conn)

	mu       sync.Mutex
	conns    map[*conn]struct{}
	shutdown bool

	down           atomic.Bool // shutdown, read without the lock
	served, handed atomic.Uint64
}

// New returns a server for h; handOff takes the conns h1 gives up (a
// *HandedConn).
func New(cfg Config, h http.Handler, handOff func(net.Conn)) *Server {
	return &Server{cfg: cfg.withDefaults(), handler: h, handOff: handOff, conns: map[*conn]struct{}{}}
}

// Served is how many requests h1 answered itself.
func (s *Server) Served() uint64 { return s.served.Load() }

// HandedOff is how many conns h1 gave to net/http.
func (s *Server) HandedOff() uint64 { return s.handed.Load() }

// ServeConn serves nc until it closes or is handed off. base carries the
// conn's context values; state is its TLS state, nil on plain TCP.
func (s *Server) ServeConn(base context.Context, nc net.Conn, state *ctls.ConnectionState) {
	c := newConn(s, base, nc, state)
	if !s.track(c) {
		_ = nc.Close()
		return
	}
	defer s.untrack(c)
	c.serve()
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) shuttingDown() bool { return s.down.Load() }

// Shutdown stops serving as http.Server.Shutdown does: idle conns are
// closed at once, a conn with a request in flight closes once it has
// answered it; past ctx, every conn left is cut.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	s.down.Store(true)
	for c := range s.conns {
		c.wakeIfIdle()
	}
	s.mu.Unlock()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close cuts every conn.
func (s *Server) Close() {
	s.mu.Lock()
	s.shutdown = true
	s.down.Store(true)
	for c := range s.conns {
		_ = c.nc.Close()
	}
	s.mu.Unlock()
}
