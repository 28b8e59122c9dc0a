package httpcache

import (
	"net/http"
	"time"
)

// storableStatus are the final statuses the cache stores (with explicit
// freshness, or with no-cache and a validator). 206 is never stored: the
// cache keeps full objects and answers ranges from them.
var storableStatus = map[int]bool{
	200: true, 203: true, 204: true, 300: true, 301: true, 302: true, 307: true, 308: true,
	404: true, 405: true, 410: true, 414: true, 501: true,
}

// Bypass reasons, reported in Cache-Status as "fwd=bypass; detail=…".
const (
	ReasonMethod    = "method"
	ReasonAuth      = "authorization"
	ReasonNoStore   = "no-store"
	ReasonPrivate   = "private"
	ReasonCookie    = "set-cookie"
	ReasonStatus    = "status"
	ReasonVaryStar  = "vary-star"
	ReasonNoFresh   = "no-freshness"
	ReasonTooLarge  = "too-large"
	ReasonRangeResp = "partial"
)

// Storable says whether a shared cache may store resp, the answer to a GET
// with request header req (RFC 9111 §3), and if not, why.
func Storable(req http.Header, status int, resp http.Header) (ok bool, reason string) {
	rq, rs := ParseCacheControl(req), ParseCacheControl(resp)
	switch {
	case rq.NoStore || rs.NoStore:
		return false, ReasonNoStore
	case rs.Private:
		return false, ReasonPrivate
	case len(resp.Values("Set-Cookie")) > 0:
		return false, ReasonCookie
	case !storableStatus[status]:
		return false, ReasonStatus
	case resp.Get("Content-Range") != "":
		return false, ReasonRangeResp
	case hasVaryStar(resp):
		return false, ReasonVaryStar
	case req.Get("Authorization") != "" && !(rs.Public || rs.HasSMaxAge || rs.MustRevalidate):
		return false, ReasonAuth // §3.5
	}
	explicit := rs.HasSMaxAge || rs.HasMaxAge || resp.Get("Expires") != ""
	validator := resp.Get("ETag") != "" || resp.Get("Last-Modified") != ""
	if !explicit && !(rs.NoCache && validator) {
		return false, ReasonNoFresh // no heuristic freshness: an origin that says nothing is not cached
	}
	return true, ""
}

// Lifetime is the freshness lifetime a shared cache gives resp (§4.2.1):
// s-maxage, else max-age, else Expires minus Date. received stands in for
// a missing or invalid Date.
func Lifetime(resp http.Header, received time.Time) time.Duration {
	cc := ParseCacheControl(resp)
	switch {
	case cc.NoCache:
		return 0
	case cc.HasSMaxAge:
		return cc.SMaxAge
	case cc.HasMaxAge:
		return cc.MaxAge
	}
	exp := resp.Get("Expires")
	if exp == "" {
		return 0
	}
	t, err := http.ParseTime(exp)
	if err != nil {
		return 0 // an invalid Expires means already expired
	}
	return max(0, t.Sub(dateOf(resp, received)))
}

// InitialAge is corrected_initial_age of §4.2.3: the response's age when
// it was received, from its Age header, its Date and the time the request
// took.
func InitialAge(resp http.Header, requested, received time.Time) time.Duration {
	apparent := max(0, received.Sub(dateOf(resp, received)))
	corrected := ageValue(resp) + max(0, received.Sub(requested))
	return max(apparent, corrected)
}

func dateOf(resp http.Header, fallback time.Time) time.Time {
	if t, err := http.ParseTime(resp.Get("Date")); err == nil {
		return t
	}
	return fallback
}

func ageValue(resp http.Header) time.Duration {
	return delta(resp.Get("Age"))
}

func hasVaryStar(resp http.Header) bool {
	for _, name := range varyNames(resp) {
		if name == "*" {
			return true
		}
	}
	return false
}
