package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/edgecdn/edge/edge/app"
)

// errForbiddenAddress is the cause of a guest fetch refused at the dial:
// the name resolved only to addresses a guest may not reach by name.
var errForbiddenAddress = errors.New("forbidden address")

// newGuestTransport builds a transport for guest fetches trusting the
// system's roots plus o's origin_ca, with a dialer that never connects a
// name to a loopback, private, link-local or otherwise internal address.
func newGuestTransport(o *app.Outbound) *http.Transport {
	d := &guardedDialer{d: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}, resolver: net.DefaultResolver}
	return &http.Transport{
		Proxy:                  nil, // never a proxy from the environment
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    32,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		DisableCompression:     true, // the guest gets the bytes the origin sent
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.Roots},
	}
}

// guardedDialer connects guest fetches. An address literal in the URL is
// dialled as it is: the fetcher has matched it against the route's
// allowed_outbound_hosts, where listing it is what allows an internal
// address. A name is resolved here, every address it resolves to is
// checked, and the connection goes to a checked address itself, so a name
// that answers with a public address to one lookup and 127.0.0.1 to the
// next (DNS rebinding) never reaches the latter.
type guardedDialer struct {
	d        net.Dialer
	resolver *net.Resolver
}

func (g *guardedDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return g.d.DialContext(ctx, network, addr)
	}
	ips, err := g.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, ip := range ips {
		ip = ip.Unmap()
		if internalAddress(ip) {
			if firstErr == nil {
				firstErr = fmt.Errorf("%w: %s resolves to %s, an internal address (list the address itself in allowed_outbound_hosts to allow it)", errForbiddenAddress, host, ip)
			}
			continue
		}
		c, err := g.d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		if firstErr == nil || errors.Is(firstErr, errForbiddenAddress) {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("%s has no addresses", host)
	}
	return nil, firstErr
}

// internalPrefixes are special-purpose ranges (RFC 6890 and kin) beyond
// what netip's predicates name: shared address space, benchmarking, IETF
// protocol assignments, documentation, NAT64 and 6to4 (which embed IPv4
// addresses), discard, and reserved space.
var internalPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
}

// internalAddress reports whether a guest may not reach ip through a name:
// loopback, private, link-local, multicast, unspecified, or special-use.
func internalAddress(ip netip.Addr) bool {
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return true
	}
	for _, p := range internalPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
