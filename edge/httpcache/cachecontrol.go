package httpcache

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Directives are the Cache-Control directives the cache acts on. A
// directive given with a value it cannot read counts as present with the
// most conservative meaning (RFC 9111 §4.2.1: an invalid max-age is stale).
type Directives struct {
	NoStore, NoCache, Private, Public      bool
	MustRevalidate, ProxyRevalidate        bool
	MaxAge, SMaxAge                        time.Duration
	HasMaxAge, HasSMaxAge                  bool
	StaleWhileRevalidate, StaleIfError     time.Duration
	HasStaleWhileRevalidate, HasStaleIfErr bool
}

// maxDelta caps any delta-seconds: 2^31 seconds, as RFC 9111 §1.2.2 says.
const maxDelta = 1<<31 - 1

// ParseCacheControl reads every Cache-Control field line of h.
func ParseCacheControl(h http.Header) Directives {
	var d Directives
	for _, line := range h.Values("Cache-Control") {
		d.parse(line)
	}
	return d
}

// parse reads one field value: comma-separated directives, each a token
// with an optional =token or ="quoted string".
func (d *Directives) parse(s string) {
	for s != "" {
		var item string
		item, s = nextDirective(s)
		name, val, _ := strings.Cut(item, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.Trim(strings.TrimSpace(val), `"`)
		d.apply(name, val)
	}
}

// nextDirective splits off the first directive, honouring quotes so that
// no-cache="Set-Cookie, X-Foo" stays one directive.
func nextDirective(s string) (item, rest string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case '\\':
			if quoted {
				i++
			}
		case ',':
			if !quoted {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}

func (d *Directives) apply(name, val string) {
	switch name {
	case "no-store":
		d.NoStore = true
	case "no-cache":
		d.NoCache = true // a field-name list is treated as the whole response
	case "private":
		d.Private = true
	case "public":
		d.Public = true
	case "must-revalidate":
		d.MustRevalidate = true
	case "proxy-revalidate":
		d.ProxyRevalidate = true
	case "max-age":
		d.MaxAge, d.HasMaxAge = delta(val), true
	case "s-maxage":
		d.SMaxAge, d.HasSMaxAge = delta(val), true
	case "stale-while-revalidate":
		d.StaleWhileRevalidate, d.HasStaleWhileRevalidate = delta(val), true
	case "stale-if-error":
		d.StaleIfError, d.HasStaleIfErr = delta(val), true
	}
}

// delta reads delta-seconds; anything invalid is 0 (stale at once), a
// value too large is capped.
func delta(s string) time.Duration {
	if s == "" {
		return 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxDelta {
		n = maxDelta
	}
	return time.Duration(n) * time.Second
}
