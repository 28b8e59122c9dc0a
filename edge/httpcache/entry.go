package httpcache

import (
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// Entry is one stored response. Entries are never changed once published
// (a revalidation or a soft purge publishes a new one), so a request may
// keep using the entry it found.
type Entry struct {
	ID           string            `json:"id"`   // owner of the body blob's hold
	Key          string            `json:"key"`  // primary key: host + request-target
	Vary         map[string]string `json:"vary"` // request header values this variant was chosen by
	Status       int               `json:"status"`
	Header       http.Header       `json:"header"` // as the origin sent it, minus hop-by-hop fields and Age
	InitialAge   time.Duration     `json:"initial_age"`
	ResponseTime time.Time         `json:"response_time"`
	Lifetime     time.Duration     `json:"lifetime"`
	Tags         []string          `json:"tags,omitempty"` // from Surrogate-Key
	Size         int64             `json:"size"`
	Soft         bool              `json:"soft,omitempty"` // soft-purged: stale until revalidated
	// Unverified: the node may have missed a purge of it; it is served
	// only once its origin confirms it (RequireRevalidation).
	Unverified bool   `json:"unverified,omitempty"`
	Digest     string `json:"digest,omitempty"`

	body []byte // memory tier; nil when the body is only on disk
	cc   Directives

	// served is what the server built once to answer hits on this entry
	// (Served, SetServed): opaque to the cache, never stored.
	served atomic.Value

	// usedMem and usedDisk are set by a hit and cleared by the tier's
	// eviction, which then spares the entry once (markUsed, spared). The
	// cache's lock guards them.
	usedMem, usedDisk bool
}

// markUsed records a hit on e for both tiers' evictions. c.mu is held.
func (e *Entry) markUsed() {
	if !e.usedMem || !e.usedDisk { // a hot entry's line is only read
		e.usedMem, e.usedDisk = true, true
	}
}

// spared reports whether an eviction should pass over an entry this once:
// it was hit since the last eviction looked at it. It clears the mark.
// c.mu is held.
func spared(used *bool) bool {
	was := *used
	*used = false
	return was
}

// Served is what SetServed kept on e, or nil.
func (e *Entry) Served() any { return e.served.Load() }

// SetServed keeps v on e for later hits: what the server derives from an
// entry (its response header fields, say) once rather than per hit, as
// entries never change. v must always have the same type.
func (e *Entry) SetServed(v any) { e.served.Store(v) }

// Age is the entry's current age (RFC 9111 §4.2.3).
func (e *Entry) Age(now time.Time) time.Duration {
	return e.InitialAge + max(0, now.Sub(e.ResponseTime))
}

// Fresh says whether the entry may be served without asking the origin.
func (e *Entry) Fresh(now time.Time) bool {
	return !e.Soft && !e.Unverified && e.Age(now) < e.Lifetime
}

// staleness is how long past its lifetime the entry is (0 if fresh).
func (e *Entry) staleness(now time.Time) time.Duration {
	return max(0, e.Age(now)-e.Lifetime)
}

// mayServeStale reports whether the entry may be served stale at all: not
// when the origin forbade it (must-revalidate, s-maxage, no-cache).
func (e *Entry) mayServeStale() bool {
	return !e.Unverified && !e.cc.MustRevalidate && !e.cc.ProxyRevalidate && !e.cc.NoCache
}

// StaleWhileRevalidate says the entry may be served while one request
// revalidates it: within the origin's stale-while-revalidate window, or
// after a soft purge.
func (e *Entry) StaleWhileRevalidate(now time.Time) bool {
	if e.Unverified || !e.mayServeStale() && !e.Soft {
		return false
	}
	return e.Soft || e.cc.HasStaleWhileRevalidate && e.staleness(now) <= e.cc.StaleWhileRevalidate
}

// StaleIfError says the entry may stand in for an origin that failed.
func (e *Entry) StaleIfError(now time.Time) bool {
	return e.mayServeStale() && e.cc.HasStaleIfErr && e.staleness(now) <= e.cc.StaleIfError
}

// Validators are the conditional request headers that revalidate e.
func (e *Entry) Validators() http.Header {
	h := http.Header{}
	if v := e.Header.Get("ETag"); v != "" {
		h.Set("If-None-Match", v)
	}
	if v := e.Header.Get("Last-Modified"); v != "" {
		h.Set("If-Modified-Since", v)
	}
	return h
}

// variantKey names the entry among the variants of its primary key.
func (e *Entry) variantKey() string { return variantKey(e.Key, e.Vary) }

func variantKey(key string, vary map[string]string) string {
	names := make([]string, 0, len(vary))
	for n := range vary {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(key)
	for _, n := range names {
		b.WriteString("\x00" + n + "=" + vary[n])
	}
	return b.String()
}

// matches says whether a request with header req selects this variant.
func (e *Entry) matches(req http.Header) bool {
	for name, v := range e.Vary {
		if headerValue(req, name) != v {
			return false
		}
	}
	return true
}

// varyNames lists the header names resp varies on, canonical.
func varyNames(resp http.Header) []string {
	var names []string
	for _, line := range resp.Values("Vary") {
		for _, n := range strings.Split(line, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, http.CanonicalHeaderKey(n))
			}
		}
	}
	return names
}

// varyValues records the request's values of the headers resp varies on.
func varyValues(req, resp http.Header) map[string]string {
	names := varyNames(resp)
	if len(names) == 0 {
		return nil
	}
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = headerValue(req, n)
	}
	return m
}

// headerValue joins a header's field lines, whitespace-normalised, so that
// "gzip,br" and "gzip, br" select the same variant.
func headerValue(h http.Header, name string) string {
	var parts []string
	for _, line := range h.Values(name) {
		for _, p := range strings.Split(line, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
	}
	return strings.Join(parts, ",")
}

// surrogateKeys reads the space-separated Surrogate-Key header.
func surrogateKeys(h http.Header) []string {
	var keys []string
	for _, line := range h.Values("Surrogate-Key") {
		keys = append(keys, strings.Fields(line)...)
	}
	return keys
}
