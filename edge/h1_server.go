package edge

import (
	"context"
	ctls "crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/edgecdn/edge/edge/h1"
)

// H1 servers (ServerConfig.H1).
const (
	H1Edge = "edge" // the node's own (package edge/h1) for plain GET and HEAD, net/http for the rest
	H1Std  = "std"  // net/http's for everything
)

// CheckH1 reports whether name is an HTTP/1.1 server the node knows.
func CheckH1(name string) error {
	switch name {
	case "", H1Edge, H1Std:
		return nil
	}
	return fmt.Errorf("edge: unknown h1 server %q (want %q or %q)", name, H1Edge, H1Std)
}

// front is the node's own accept loop of one listener, with the node's
// HTTP/1.1 server (edge/h1) answering what it can. std serves the rest
// through a channel listener: the conns h1 hands off mid-way, and on
// TLS every conn that negotiated another protocol (h2, which std gives
// to the h2 server installed on it; acme-tls/1, which the handshake
// answered and std closes), exactly as when std accepted them itself.
type front struct {
	ln      net.Listener
	tls     *ctls.Config // nil on the plain listener
	std     *http.Server
	handed  *h1.Listener
	h1      *h1.Server
	timeout time.Duration // bound on the TLS handshake

	mu   sync.Mutex
	new  map[net.Conn]struct{} // conns in their handshake
	done bool
	wg   sync.WaitGroup
}

// newFront readies std to take handed conns and builds the h1 server
// that answers with h.
func (s *Server) newFront(ln net.Listener, tlsCfg *ctls.Config, std *http.Server, h http.Handler) *front {
	f := &front{ln: ln, tls: tlsCfg, std: std, handed: h1.NewListener(ln.Addr()), new: map[net.Conn]struct{}{}}
	l := s.cfg.Limits
	f.timeout = l.ReadHeaderTimeout
	if tlsCfg != nil {
		f.timeout = min(l.ReadHeaderTimeout, l.WriteTimeout, l.ReadTimeout)
		next := std.ConnContext
		std.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			if hc, ok := c.(*h1.HandedConn); ok {
				ctx = context.WithValue(ctx, tlsStateKey{}, hc.TLS)
				if tc, ok := hc.Conn.(*ctls.Conn); ok {
					c = tc
				}
			}
			if next != nil {
				ctx = next(ctx, c)
			}
			return ctx
		}
		std.Handler = tlsFromConn{std.Handler}
	}
	f.h1 = h1.New(h1.Config{
		MaxHeadBytes:      min(8<<10, l.MaxHeaderBytes),
		ReadHeaderTimeout: l.ReadHeaderTimeout, IdleTimeout: l.IdleTimeout, WriteTimeout: l.WriteTimeout,
		Log: s.log,
	}, h, f.handed.HandOff)
	return f
}

// serve accepts until the listener closes.
func (f *front) serve() error {
	var delay time.Duration
	for {
		c, err := f.ln.Accept()
		if err != nil {
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !f.add(c) {
			_ = c.Close()
			continue
		}
		go f.serveConn(c)
	}
}

func (f *front) add(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return false
	}
	f.new[c] = struct{}{}
	f.wg.Add(1)
	return true
}

func (f *front) started(c net.Conn) {
	f.mu.Lock()
	delete(f.new, c)
	f.mu.Unlock()
	f.wg.Done()
}

// serveConn does the TLS handshake, if any, and gives the conn to h1 or
// to std by its protocol.
func (f *front) serveConn(c net.Conn) {
	base := context.WithValue(context.WithValue(context.Background(), http.ServerContextKey, f.std), http.LocalAddrContextKey, c.LocalAddr())
	if f.tls == nil {
		f.started(c)
		f.h1.ServeConn(base, c, nil)
		return
	}
	tc := ctls.Server(c, f.tls)
	_ = c.SetDeadline(time.Now().Add(f.timeout))
	err := tc.HandshakeContext(context.Background())
	f.started(c)
	if err != nil {
		var re ctls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			// As net/http: plain HTTP sent to the TLS port gets told so.
			_, _ = io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		} else {
			f.std.ErrorLog.Printf("http: TLS handshake error from %s: %v", c.RemoteAddr(), err)
		}
		_ = c.Close()
		return
	}
	state := tc.ConnectionState()
	switch state.NegotiatedProtocol {
	case "", "http/1.1":
		f.h1.ServeConn(base, tc, &state)
	default:
		_ = c.SetDeadline(time.Time{})
		f.handed.HandOff(tc)
	}
}

// shutdown stops accepting, then drains h1 and std together: idle conns
// close now, requests in flight finish until ctx, then are cut.
func (f *front) shutdown(ctx context.Context) error {
	f.mu.Lock()
	f.done = true
	f.mu.Unlock()
	errs := []error{f.ln.Close()}
	var wg sync.WaitGroup
	var h1Err, stdErr error
	wg.Go(func() { h1Err = f.h1.Shutdown(ctx) })
	wg.Go(func() {
		if stdErr = f.std.Shutdown(ctx); stdErr != nil {
			_ = f.std.Close()
		}
	})
	wg.Go(func() {
		handshakes := make(chan struct{})
		go func() { f.wg.Wait(); close(handshakes) }()
		select {
		case <-handshakes:
		case <-ctx.Done():
			f.mu.Lock()
			for c := range f.new {
				_ = c.Close()
			}
			f.mu.Unlock()
			<-handshakes
		}
	})
	wg.Wait()
	return errors.Join(append(errs, h1Err, stdErr)...)
}

// looksLikeHTTP reports whether a TLS record header is the start of a
// plain HTTP request (net/http's test).
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

type tlsStateKey struct{}

// tlsFromConn gives a request on a conn h1 handed to net/http the TLS
// state net/http cannot see (the conn is not a *tls.Conn there).
type tlsFromConn struct{ next http.Handler }

func (t tlsFromConn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		if st, ok := r.Context().Value(tlsStateKey{}).(*ctls.ConnectionState); ok {
			r.TLS = st
		}
	}
	t.next.ServeHTTP(w, r)
}

// H1Counts is how many requests the node's own HTTP/1.1 server answered
// and how many conns it handed to net/http, over both listeners.
func (s *Server) H1Counts() (served, handedOff uint64) {
	s.frontsMu.Lock()
	defer s.frontsMu.Unlock()
	for _, f := range s.fronts {
		served += f.h1.Served()
		handedOff += f.h1.HandedOff()
	}
	return served, handedOff
}
