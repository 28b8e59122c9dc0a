package edge

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/edgecdn/edge/edge/app"
)

// transportPool keeps http.Transports by key, each built on first use and
// shared by every route and app that asks for that key, so connections
// are pooled and kept alive across requests. Origin routes key theirs by
// origin (scheme, host and extra CA), guest fetches by extra CA.
type transportPool struct {
	mu sync.Mutex
	m  map[string]*http.Transport
}

// get returns the transport for key, built by build if there is none yet.
func (p *transportPool) get(key string, build func() *http.Transport) *http.Transport {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.m[key]; t != nil {
		return t
	}
	if p.m == nil {
		p.m = map[string]*http.Transport{}
	}
	t := build()
	p.m[key] = t
	return t
}

// close drops idle connections.
func (p *transportPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.m {
		t.CloseIdleConnections()
	}
}

// newOriginTransport uses HTTP/2 where the origin offers it over TLS.
func newOriginTransport(o *app.Origin) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil, // never a proxy from the environment: the route says where to go
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // pass Accept-Encoding through; never decode the origin's bytes
		TLSClientConfig:       &tls.Config{RootCAs: o.Roots, MinVersion: tls.VersionTLS12},
	}
}

// hopByHop are the fields that describe one connection, never forwarded
// (RFC 9110 §7.6.1), besides those the Connection field names.
var hopByHop = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopByHop deletes hop-by-hop fields from h.
func removeHopByHop(h http.Header) {
	for _, line := range h.Values("Connection") {
		for _, name := range strings.Split(line, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopByHop {
		h.Del(name)
	}
}

// untrustedForwarding are request fields a client could use to make the
// origin build a response for another host, scheme, path or method than
// the one the cache keys it under (cache poisoning). The node sets the
// forwarding fields itself; the rest are dropped.
var untrustedForwarding = []string{
	"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port",
	"X-Forwarded-Server", "X-Forwarded-Scheme", "X-Forwarded-Prefix", "X-Forwarded-Ssl", "X-Original-Url",
	"X-Rewrite-Url", "X-Original-Host", "X-Host", "X-Http-Method-Override", "X-Http-Method",
	"X-Method-Override", "X-Real-Ip", "Front-End-Https", "Via-Original",
	"X-Http-Host-Override", "X-Forwarded-Path", "X-Forwarded-Uri", "X-Original-Path", "X-Envoy-Original-Path",
	"X-Override-Url", "X-Proxy-Url", "X-Custom-Ip-Authorization", "X-Client-Ip", "True-Client-Ip",
	"X-Originating-Ip", "X-Remote-Ip", "X-Remote-Addr", "X-Cluster-Client-Ip",
}

// conditionalFields are the client's own validators and range: a shared
// fetch asks for the full object and answers them from the cache.
var conditionalFields = []string{
	"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range",
	"Cache-Control", "Pragma",
}
