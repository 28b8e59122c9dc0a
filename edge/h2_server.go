package edge

import (
	"fmt"
	"net/http"

	"github.com/edgecdn/edge/edge/h2"
)

// H2 servers for the TLS listener (ServerConfig.H2).
const (
	H2Edge = "edge" // the node's own (package edge/h2): batches frames into one TLS write
	H2Std  = "std"  // net/http's bundled HTTP/2 server
)

// CheckH2 reports whether name is an HTTP/2 server the node knows.
func CheckH2(name string) error {
	switch name {
	case "", H2Edge, H2Std:
		return nil
	}
	return fmt.Errorf("edge: unknown h2 server %q (want %q or %q)", name, H2Edge, H2Std)
}

// installH2 makes srv serve h2 with the node's own server unless the
// configuration asks for the standard library's.
func (s *Server) installH2(srv *http.Server) {
	if s.cfg.H2 == H2Std {
		return
	}
	l := s.cfg.Limits
	h2.New(h2.Config{
		MaxStreams: l.MaxStreams, MaxHeaderBytes: l.MaxHeaderBytes,
		StreamWindow: l.StreamWindow, ConnWindow: l.ConnWindow,
		IdleTimeout: l.IdleTimeout, ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout: l.ReadTimeout, WriteTimeout: l.WriteTimeout,
		Log: s.log,
	}).Install(srv)
}
