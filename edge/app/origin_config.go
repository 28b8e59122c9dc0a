package app

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// OriginSpec is the part of a [[routes]] entry that proxies to an origin:
//
//	[[routes]]
//	path = "/..."
//	origin = "https://origin.example"
//	origin_host = "www.example.com"   # Host sent upstream (default: the origin's)
//	origin_timeout = "10s"            # until the origin's response headers
//	origin_ca = "certs/origin-ca.pem" # extra roots, inside the app directory
type OriginSpec struct {
	Origin        string `toml:"origin"`
	OriginHost    string `toml:"origin_host"`
	OriginTimeout string `toml:"origin_timeout"`
	OriginCA      string `toml:"origin_ca"`
}

// DefaultOriginTimeout bounds the wait for an origin's response headers.
const DefaultOriginTimeout = 30 * time.Second

// setField names an origin field that is set, or "".
func (o *OriginSpec) setField() string {
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"origin_host", o.OriginHost != ""}, {"origin_timeout", o.OriginTimeout != ""}, {"origin_ca", o.OriginCA != ""},
	} {
		if f.set {
			return f.name
		}
	}
	return ""
}

func (r *RouteSpec) validateOrigin() *fieldError {
	if r.Module != "" || r.Static != "" || r.Script != "" {
		return bad("origin", "a route has one of module, static or origin")
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"executor", r.Executor != ""}, {"env", r.Env != nil}, {"memory", r.Memory != ""},
		{"timeout", r.Timeout != ""}, {"max_output", r.MaxOutput != ""}, {"cache_control", r.CacheControl != ""},
	} {
		if f.set {
			return bad(f.name, "does not apply to origin routes")
		}
	}
	if f := r.OutboundSpec.setField(); f != "" {
		return bad(f, "applies to edge ABI routes only")
	}
	if _, err := ParseOriginURL(r.Origin); err != nil {
		return bad("origin", "%v", err)
	}
	if h := r.OriginHost; h != "" && (strings.ContainsAny(h, " /\\@?#\r\n\t") || validHost(strings.ToLower(hostOnly(h))) != nil) {
		return bad("origin_host", "%q is not a host name (with an optional :port)", h)
	}
	if _, err := parseTimeout(r.OriginTimeout); err != nil {
		return bad("origin_timeout", "%v", err)
	}
	return nil
}

// ParseOriginURL accepts an absolute http or https URL with a host and an
// optional base path, nothing else: no user info, query or fragment.
func ParseOriginURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%q is not a URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q must start with http:// or https://", s)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%q has no host", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return nil, fmt.Errorf("%q may not carry user info, a query or a fragment", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func hostOnly(h string) string {
	if u, err := url.Parse("//" + h); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return h
}
