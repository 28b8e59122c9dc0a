package edge

import (
	"context"
	ctls "crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"

	"github.com/quic-go/quic-go/http3"
)

// ServerConfig says where the node listens.
type ServerConfig struct {
	// HTTPAddr serves plain HTTP ("" disables it).
	HTTPAddr string
	// HTTPSAddr serves HTTP/1.1 and HTTP/2 over TLS on TCP and HTTP/3 on
	// UDP, on the same port ("" disables both).
	HTTPSAddr string
	// TLS provides certificates for HTTPSAddr. NextProtos it lists (such
	// as acme-tls/1 for ACME's TLS-ALPN-01) are offered after h2 and
	// http/1.1 on TCP.
	TLS *ctls.Config
	// Limits apply to every listener (zero fields: DefaultLimits).
	Limits Limits
	// PlainHTTP, if set, wraps the handler of the plain-HTTP listener only:
	// ACME HTTP-01 challenges and redirects to HTTPS are answered there.
	PlainHTTP func(http.Handler) http.Handler
	// H2 picks the HTTP/2 server of the TLS listener: H2Edge (the
	// default) or H2Std.
	H2 string
	// H1 picks the HTTP/1.1 server of both listeners: H1Edge (the
	// default) or H1Std.
	H1  string
	Log *slog.Logger
}

// Server owns the node's user-facing listeners. Lifecycle: NewServer has no
// side effects; Start binds and serves; Shutdown drains and may be called
// more than once.
type Server struct {
	cfg     ServerConfig
	handler http.Handler
	log     *slog.Logger

	plain, secure *http.Server
	frontsMu      sync.Mutex
	fronts        []*front // the node's own accept loops (H1Edge); H1Counts reads them at any time
	h3            *http3.Server
	httpLn, tcp   net.Listener // bound by Listen, served by Start
	udp           net.PacketConn
	httpAddr      net.Addr
	httpsAddr     net.Addr

	wg           sync.WaitGroup
	shutdownOnce sync.Once
	shutdownErr  error
}

// NewServer prepares a server for h. For Alt-Svc on TLS responses, build
// the Handler with AltSvc set to the server's AltSvc method.
func NewServer(cfg ServerConfig, h http.Handler) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.Limits = cfg.Limits.withDefaults()
	h = &writeProgress{next: h, write: cfg.Limits.WriteTimeout, read: cfg.Limits.ReadTimeout}
	return &Server{cfg: cfg, handler: h, log: cfg.Log.With("component", "edge")}
}

// Listen binds every configured listener without serving yet, so a busy
// port is reported before anything slow (loading apps) runs. Start calls
// it if it was not called; Shutdown closes what it bound.
func (s *Server) Listen() error {
	if s.httpAddr != nil || s.httpsAddr != nil {
		return nil
	}
	if err := errors.Join(CheckH2(s.cfg.H2), CheckH1(s.cfg.H1)); err != nil {
		return err
	}
	if s.cfg.HTTPAddr != "" {
		ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("edge: listen http %s: %w", s.cfg.HTTPAddr, err)
		}
		s.httpLn, s.httpAddr = ln, ln.Addr()
	}
	if s.cfg.HTTPSAddr != "" {
		if s.cfg.TLS == nil {
			_ = s.Shutdown(context.Background())
			return errors.New("edge: https listener needs a TLS config")
		}
		tcp, udp, err := listenPair(s.cfg.HTTPSAddr)
		if err != nil {
			_ = s.Shutdown(context.Background())
			return err
		}
		s.tcp, s.udp, s.httpsAddr = tcp, udp, tcp.Addr()
	}
	return nil
}

// Start binds every configured listener (unless Listen did) and serves in
// the background. It returns once the node accepts connections, or the
// first bind error.
func (s *Server) Start() error {
	if err := s.Listen(); err != nil {
		return err
	}
	if s.httpLn != nil {
		s.plain = s.newHTTPServer()
		if s.cfg.PlainHTTP != nil {
			s.plain.Handler = s.cfg.PlainHTTP(s.handler)
		}
		if s.cfg.H1 == H1Std {
			s.serve("http", func() error { return s.plain.Serve(s.httpLn) })
		} else {
			s.serveFront("http", s.newFront(s.httpLn, nil, s.plain, s.plain.Handler))
		}
	}
	if s.tcp != nil {
		s.startTLS()
	}
	return nil
}

func (s *Server) newHTTPServer() *http.Server {
	srv := &http.Server{
		Handler:  s.handler,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.cfg.Limits.applyHTTP(srv)
	return srv
}

// startTLS serves h1 and h2 on the TCP listener and h3 on the UDP one,
// both bound by Listen on the same port.
func (s *Server) startTLS() {
	tcp, udp := s.tcp, s.udp
	s.secure = s.newHTTPServer()
	s.secure.TLSConfig = s.cfg.TLS.Clone()
	s.secure.TLSConfig.NextProtos = tcpProtos(s.cfg.TLS.NextProtos)
	s.installH2(s.secure)
	corked := corkTLS(s.secure, tcp)
	if s.cfg.H1 == H1Std {
		s.serve("https", func() error { return s.secure.ServeTLS(corked, "", "") })
	} else {
		s.serveFront("https", s.newFront(corked, s.secure.TLSConfig, s.secure, s.handler))
	}

	s.h3 = &http3.Server{
		Handler:   s.handler,
		TLSConfig: http3.ConfigureTLSConfig(s.cfg.TLS.Clone()),
		Logger:    s.log,
	}
	s.cfg.Limits.applyHTTP3(s.h3)
	s.h3.Port = tcp.Addr().(*net.TCPAddr).Port
	s.serve("h3", func() error { return s.h3.Serve(udp) })
}

// tcpProtos is h2 and http/1.1 followed by the other protocols extra lists.
func tcpProtos(extra []string) []string {
	protos := []string{"h2", "http/1.1"}
	for _, p := range extra {
		if !slices.Contains(protos, p) {
			protos = append(protos, p)
		}
	}
	return protos
}

// listenPair binds TCP and then UDP on the same port, so one address serves
// h1, h2 and h3. With port 0 the kernel picks a TCP port, which may be taken
// on UDP: then it tries again.
func listenPair(addr string) (net.Listener, net.PacketConn, error) {
	_, port, _ := net.SplitHostPort(addr)
	for try := 0; ; try++ {
		tcp, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("edge: listen https (tcp) %s: %w", addr, err)
		}
		udpAddr := tcp.Addr().String()
		udp, err := net.ListenPacket("udp", udpAddr)
		if err == nil {
			return tcp, udp, nil
		}
		_ = tcp.Close()
		if port != "0" || try == 10 {
			return nil, nil, fmt.Errorf("edge: listen https (udp, for HTTP/3) %s: %w", udpAddr, err)
		}
	}
}

// serveFront serves f's listener with the node's own accept loop, and the
// conns it hands off with f.std.
func (s *Server) serveFront(name string, f *front) {
	s.frontsMu.Lock()
	s.fronts = append(s.fronts, f)
	s.frontsMu.Unlock()
	s.serve(name, func() error { return f.std.Serve(f.handed) })
	s.serve(name, f.serve)
}

func (s *Server) serve(name string, run func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := run(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.log.Error("listener stopped", "listener", name, "err", err)
		}
	}()
}

// AltSvc adds the Alt-Svc header that advertises HTTP/3 on this node.
func (s *Server) AltSvc(h http.Header) {
	if s.h3 != nil {
		_ = s.h3.SetQUICHeaders(h)
	}
}

// HTTPAddr is the bound plain-HTTP address, or "" when disabled.
func (s *Server) HTTPAddr() string { return addrString(s.httpAddr) }

// HTTPSAddr is the bound TLS address (TCP and UDP), or "" when disabled.
func (s *Server) HTTPSAddr() string { return addrString(s.httpsAddr) }

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// Shutdown stops accepting on every listener at once, lets requests in
// flight finish until ctx ends, then cuts what is left and closes the
// UDP socket: TCP listeners and QUIC listeners first, then the HTTP/3
// server, then the packet conn (as Caddy stops). Safe to call twice.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		errs := s.closeUnserved()
		errs = append(errs, s.drain(ctx)...)
		if s.udp != nil {
			errs = append(errs, s.udp.Close())
		}
		s.wg.Wait()
		s.shutdownErr = errors.Join(errs...)
	})
	return s.shutdownErr
}

// closeUnserved closes listeners bound by Listen but never served.
func (s *Server) closeUnserved() []error {
	var errs []error
	if s.plain == nil && s.httpLn != nil {
		errs = append(errs, s.httpLn.Close())
	}
	if s.secure == nil && s.tcp != nil {
		errs = append(errs, s.tcp.Close())
	}
	return errs
}

// drain shuts every server down in parallel, so that none accepts while
// another waits for its requests; past ctx, connections are cut.
func (s *Server) drain(ctx context.Context) []error {
	var shutdowns []func(context.Context) error
	fronted := map[*http.Server]bool{}
	s.frontsMu.Lock()
	fronts := s.fronts
	s.frontsMu.Unlock()
	for _, f := range fronts {
		fronted[f.std] = true
		shutdowns = append(shutdowns, f.shutdown)
	}
	for _, srv := range []*http.Server{s.plain, s.secure} {
		if srv != nil && !fronted[srv] {
			shutdowns = append(shutdowns, func(ctx context.Context) error {
				err := srv.Shutdown(ctx)
				if err != nil {
					_ = srv.Close() // the deadline passed: cut
				}
				return err
			})
		}
	}
	if s.h3 != nil {
		shutdowns = append(shutdowns, s.h3.Shutdown) // closes its connections itself past ctx
	}
	errs := make([]error, len(shutdowns))
	var wg sync.WaitGroup
	for i, fn := range shutdowns {
		wg.Go(func() { errs[i] = fn(ctx) })
	}
	wg.Wait()
	return errs
}
