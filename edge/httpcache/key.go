package httpcache

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Key is the primary cache key of a request for host and request-target
// (path and query, as sent): the host lower-cased, without port or
// trailing dot. Purges name entries by the same form.
func Key(host, requestURI string) string {
	return normalizeHost(host) + requestURI
}

// AppendKey appends Key(host, requestURI) to dst. For an ASCII host with
// no brackets and at most one colon (every name and IPv4 address, with or
// without a port) it does not allocate, so that a cache hit costs no
// garbage for its key; anything else takes Key's own path.
func AppendKey(dst []byte, host, requestURI string) []byte {
	h, ok := plainHost(host)
	if !ok {
		return append(dst, Key(host, requestURI)...)
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		c := h[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return append(dst, requestURI...)
}

// plainHost is normalizeHost's host part for the hosts AppendKey handles
// itself: the part before the one colon (as net.SplitHostPort takes it),
// or the whole when there is none. ok is false for any other host.
func plainHost(h string) (host string, ok bool) {
	colon := -1
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c >= 0x80 || c == '[' || c == ']':
			return "", false
		case c == ':':
			if colon >= 0 {
				return "", false
			}
			colon = i
		}
	}
	if colon >= 0 {
		return h[:colon], true
	}
	return h, true
}

func normalizeHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(strings.Trim(h, "[]"), "."))
}

// ErrBadPurge is returned for a purge request that selects nothing sensible.
var ErrBadPurge = errors.New("httpcache: bad purge")

// ParsePurge builds a Purge from one of an absolute URL (that object), a
// URL prefix ("https://host/img/": everything below) or a surrogate key.
func ParsePurge(rawURL, prefix, tag string, soft bool) (Purge, error) {
	set := 0
	for _, s := range []string{rawURL, prefix, tag} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		return Purge{}, fmt.Errorf("%w: give exactly one of url, prefix or tag", ErrBadPurge)
	}
	p := Purge{Tag: tag, Soft: soft}
	for _, s := range []struct {
		raw string
		dst *string
	}{{rawURL, &p.Key}, {prefix, &p.Prefix}} {
		if s.raw == "" {
			continue
		}
		u, err := url.Parse(s.raw)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return Purge{}, fmt.Errorf("%w: %q is not an absolute http(s) URL", ErrBadPurge, s.raw)
		}
		*s.dst = Key(u.Host, u.RequestURI())
	}
	if strings.ContainsAny(tag, " \t\r\n") {
		return Purge{}, fmt.Errorf("%w: a surrogate key has no spaces", ErrBadPurge)
	}
	return p, nil
}
