package app

import (
	"crypto/x509"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// OutboundSpec is the part of a module route that lets an edge ABI guest
// make HTTP requests (the fetch host function, docs/cdn.md):
//
//	allowed_outbound_hosts = ["https://api.example.com", "http://127.0.0.1:8080"]
//	max_fetches = 8           # per request (default 8)
//	max_fetch_size = "4MiB"   # per response body (default 4 MiB)
//
// Nothing is allowed unless listed (Spin's spelling): scheme, host and
// port must match; no port means the scheme's default. "*.example.com"
// matches any name below example.com (not example.com itself).
type OutboundSpec struct {
	AllowedOutboundHosts []string `toml:"allowed_outbound_hosts"`
	MaxFetches           int      `toml:"max_fetches"`
	MaxFetchSize         string   `toml:"max_fetch_size"`
}

// Defaults and ceilings of the outbound limits.
const (
	DefaultMaxFetches   = 8
	MaxFetchesCeiling   = 100
	DefaultMaxFetchSize = 4 << 20
	MaxFetchSizeCeiling = 64 << 20
)

// Outbound is a route's checked outbound policy.
type Outbound struct {
	Allowed  []AllowedHost
	MaxCount int   // fetches per request
	MaxSize  int64 // bytes per response body
	// Roots are the CAs trusted for https fetches: the system's plus the
	// route's origin_ca (nil: the system's only). CAKey names them, for
	// the pool of connections made with them ("" without origin_ca).
	Roots *x509.CertPool
	CAKey string
}

// AllowedHost is one entry of allowed_outbound_hosts.
type AllowedHost struct {
	Scheme string // "http" or "https"
	Host   string // lower case; "*.example.com" for a wildcard; an IP literal without brackets
	Port   string // always set: the scheme's default when the entry has none
}

// String is the entry as written back.
func (a AllowedHost) String() string {
	return a.Scheme + "://" + net.JoinHostPort(a.Host, a.Port)
}

// IP is the entry's host as an address, when it is one: the only way to
// allow a loopback or private address (docs/cdn.md).
func (a AllowedHost) IP() (netip.Addr, bool) {
	ip, err := netip.ParseAddr(a.Host)
	return ip.Unmap(), err == nil
}

func (o *OutboundSpec) setField() string {
	switch {
	case o.AllowedOutboundHosts != nil:
		return "allowed_outbound_hosts"
	case o.MaxFetches != 0:
		return "max_fetches"
	case o.MaxFetchSize != "":
		return "max_fetch_size"
	}
	return ""
}

// outboundCA reports whether origin_ca is set as the extra roots of an
// edge ABI or JavaScript route's fetches: the one origin field such a
// route may set.
func (r *RouteSpec) outboundCA() bool {
	o := r.OriginSpec
	o.OriginCA = ""
	return r.OriginCA != "" && o.setField() == "" && (r.Executor == "edge" || r.Executor == "js") && len(r.AllowedOutboundHosts) > 0
}

// validateOutbound checks the outbound fields of a module route.
func (r *RouteSpec) validateOutbound() *fieldError {
	if f := r.OutboundSpec.setField(); f != "" && r.Executor != "edge" && r.Executor != "js" {
		return bad(f, "applies to edge ABI and JavaScript routes only (executor = \"edge\" or a script)")
	}
	for i, s := range r.AllowedOutboundHosts {
		if _, err := ParseAllowedHost(s); err != nil {
			return bad(fmt.Sprintf("allowed_outbound_hosts[%d]", i), "%v", err)
		}
	}
	if n := r.MaxFetches; n < 0 || n > MaxFetchesCeiling {
		return bad("max_fetches", "%d is not between 1 and %d", n, MaxFetchesCeiling)
	}
	if n, err := parseSize(r.MaxFetchSize); err != nil {
		return bad("max_fetch_size", "%v", err)
	} else if n > MaxFetchSizeCeiling {
		return bad("max_fetch_size", "%s is more than %d MiB", r.MaxFetchSize, MaxFetchSizeCeiling>>20)
	}
	return nil
}

// loadOutbound builds the route's policy; nil when it allows nothing.
// origin_ca, if set, is read from fsys.
func loadOutbound(fsys fs.FS, spec *RouteSpec) (*Outbound, error) {
	if len(spec.AllowedOutboundHosts) == 0 {
		return nil, nil
	}
	o := &Outbound{MaxCount: spec.MaxFetches}
	if o.MaxCount == 0 {
		o.MaxCount = DefaultMaxFetches
	}
	o.MaxSize, _ = parseSize(spec.MaxFetchSize) // validated
	if o.MaxSize == 0 {
		o.MaxSize = DefaultMaxFetchSize
	}
	for _, s := range spec.AllowedOutboundHosts {
		a, _ := ParseAllowedHost(s) // validated
		o.Allowed = append(o.Allowed, a)
	}
	if spec.OriginCA != "" {
		var err error
		if o.Roots, o.CAKey, err = loadRoots(fsys, spec.OriginCA); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// ParseAllowedHost reads "https://api.example.com", "http://10.0.0.5:8080"
// or "https://*.example.com": a scheme, a host, an optional port, nothing
// else.
func ParseAllowedHost(s string) (AllowedHost, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return AllowedHost{}, fmt.Errorf("%q is not a URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return AllowedHost{}, fmt.Errorf("%q must start with http:// or https://", s)
	case u.Hostname() == "":
		return AllowedHost{}, fmt.Errorf("%q has no host", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || (u.Path != "" && u.Path != "/"):
		return AllowedHost{}, fmt.Errorf("%q must be scheme://host[:port] only (no path, user, query or fragment)", s)
	}
	a := AllowedHost{Scheme: u.Scheme, Host: strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), Port: u.Port()}
	if a.Port == "" {
		a.Port = defaultPort(a.Scheme)
	}
	if p, err := strconv.Atoi(a.Port); err != nil || p < 1 || p > 65535 {
		return AllowedHost{}, fmt.Errorf("%q has a bad port", s)
	}
	name := strings.TrimPrefix(a.Host, "*.")
	if _, isIP := a.IP(); isIP && name == a.Host {
		return a, nil
	}
	if err := validHost(name); err != nil || name == "*" || strings.Contains(name, "*") {
		return AllowedHost{}, fmt.Errorf("%q: host %v (wildcards only as a leading \"*.\")", s, err)
	}
	return a, nil
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// Allows reports whether u (absolute) names an allowed scheme, host and
// port, and with which entry.
func (o *Outbound) Allows(u *url.URL) (AllowedHost, bool) {
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	port := u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.Unmap().String()
	}
	for _, a := range o.Allowed {
		if a.Scheme != u.Scheme || a.Port != port {
			continue
		}
		if a.Host == host || strings.HasPrefix(a.Host, "*.") && strings.HasSuffix(host, a.Host[1:]) && len(host) > len(a.Host)-1 {
			return a, true
		}
	}
	return AllowedHost{}, false
}
