package acmetest

import (
	"context"
	ctls "crypto/tls"
	"crypto/x509"
	"net"
	"net/http"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Transport reaches a node's HTTPS listener at addr for any host name,
// trusting only roots: over HTTP/3 when h3, else HTTP/2. close releases
// its connections. Tests ask for https://NAME:PORT/ through it.
func Transport(addr, name string, roots *x509.CertPool, h3 bool) (rt http.RoundTripper, close func()) {
	tlsConf := &ctls.Config{RootCAs: roots, ServerName: name}
	if h3 {
		tr := &http3.Transport{TLSClientConfig: tlsConf, Dial: func(ctx context.Context, _ string, tc *ctls.Config, qc *quic.Config) (*quic.Conn, error) {
			return quic.DialAddr(ctx, addr, tc, qc)
		}}
		return tr, func() { _ = tr.Close() }
	}
	tr := &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
	return tr, tr.CloseIdleConnections
}
