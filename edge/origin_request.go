package edge

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/edgecdn/edge/edge/app"
)

// originRequest builds the request sent upstream for r: the origin's
// scheme and host, its base path before r's path, r's query; the origin's
// Host; hop-by-hop and untrusted forwarding fields removed; Via,
// Forwarded and X-Forwarded-* set by the node. shared is for a fetch
// whose response may be served to others: the client's validators and
// range are left out.
func originRequest(ctx context.Context, r *http.Request, o *app.Origin, method string, shared bool) *http.Request {
	u := *o.URL
	u.Path = o.URL.Path + r.URL.Path
	u.RawPath = ""
	if r.URL.RawPath != "" {
		u.RawPath = o.URL.EscapedPath() + r.URL.RawPath
	}
	u.RawQuery = r.URL.RawQuery
	out := (&http.Request{Method: method, URL: &u, Header: r.Header.Clone(), Host: o.Host}).WithContext(ctx)
	if out.Header == nil {
		out.Header = http.Header{}
	}
	if !shared {
		out.Body, out.ContentLength = r.Body, r.ContentLength
		if out.Body == http.NoBody {
			out.Body = nil
		}
	} else {
		for _, f := range conditionalFields {
			out.Header.Del(f)
		}
	}
	removeHopByHop(out.Header)
	for _, f := range untrustedForwarding {
		out.Header.Del(f)
	}
	setForwarding(out.Header, r)
	return out
}

// setForwarding says who asked, for which host, over which scheme, in the
// standard (RFC 7239) and the customary form, and adds the node to Via.
func setForwarding(h http.Header, r *http.Request) {
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	h.Set("X-Forwarded-For", ip)
	h.Set("X-Forwarded-Host", r.Host)
	h.Set("X-Forwarded-Proto", proto)
	node := ip
	if strings.Contains(ip, ":") {
		node = "[" + ip + "]"
	}
	h.Set("Forwarded", `for="`+node+`";host="`+strings.ReplaceAll(r.Host, `"`, "")+`";proto=`+proto)
	addVia(h, r.ProtoMajor, r.ProtoMinor)
}

// addVia appends the node to the Via field for a message received over
// HTTP major.minor.
func addVia(h http.Header, major, minor int) {
	v := "1.1"
	switch {
	case major == 2 || major == 3:
		v = string(rune('0' + major))
	case major == 1 && minor == 0:
		v = "1.0"
	}
	h.Add("Via", v+" edge")
}
