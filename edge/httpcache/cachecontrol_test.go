package httpcache_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge/httpcache"
)

func TestParseCacheControl(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want httpcache.Directives
	}{
		{"max-age=60", httpcache.Directives{MaxAge: time.Minute, HasMaxAge: true}},
		{"Public, S-MAXAGE=\"30\"", httpcache.Directives{Public: true, SMaxAge: 30 * time.Second, HasSMaxAge: true}},
		{`no-cache="Set-Cookie, X-Foo", private`, httpcache.Directives{NoCache: true, Private: true}},
		{"max-age=-1", httpcache.Directives{HasMaxAge: true}},  // invalid: stale at once
		{"max-age=1e9", httpcache.Directives{HasMaxAge: true}}, // not delta-seconds
		{"max-age=99999999999999999999", httpcache.Directives{MaxAge: (1<<31 - 1) * time.Second, HasMaxAge: true}},
		{"stale-while-revalidate=5,stale-if-error=9", httpcache.Directives{StaleWhileRevalidate: 5 * time.Second, HasStaleWhileRevalidate: true, StaleIfError: 9 * time.Second, HasStaleIfErr: true}},
		{"no-store,,  ,must-revalidate", httpcache.Directives{NoStore: true, MustRevalidate: true}},
	} {
		h := http.Header{"Cache-Control": {tc.in}}
		if got := httpcache.ParseCacheControl(h); got != tc.want {
			t.Errorf("%q = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// FuzzParseCacheControl: any bytes parse without panicking, into values a
// cache can use (never negative, never past the 2^31 s cap), and adding
// no-store anywhere always wins.
func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=60", `no-cache="a,b", s-maxage=5`, `"`, `a="\"`, "max-age=99999999999999999999999", "private,public", "stale-if-error=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := httpcache.ParseCacheControl(http.Header{"Cache-Control": {s}})
		for _, v := range []time.Duration{d.MaxAge, d.SMaxAge, d.StaleWhileRevalidate, d.StaleIfError} {
			if v < 0 || v > (1<<31-1)*time.Second {
				t.Fatalf("%q: duration %v out of range", s, v)
			}
		}
		if strings.Count(s, `"`)%2 == 0 {
			h := http.Header{"Cache-Control": {s, "no-store"}}
			if !httpcache.ParseCacheControl(h).NoStore {
				t.Fatalf("%q + no-store: no-store lost", s)
			}
		}
	})
}

func TestStorable(t *testing.T) {
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	for _, tc := range []struct {
		name      string
		req, resp http.Header
		status    int
		ok        bool
	}{
		{"max-age", hdr(), hdr("Cache-Control", "max-age=1"), 200, true},
		{"expires", hdr(), hdr("Expires", "Thu, 01 Jan 2099 00:00:00 GMT"), 200, true},
		{"nothing said", hdr(), hdr(), 200, false},
		{"no-cache with etag", hdr(), hdr("Cache-Control", "no-cache", "ETag", `"x"`), 200, true},
		{"private", hdr(), hdr("Cache-Control", "private, max-age=9"), 200, false},
		{"no-store", hdr(), hdr("Cache-Control", "max-age=9, no-store"), 200, false},
		{"request no-store", hdr("Cache-Control", "no-store"), hdr("Cache-Control", "max-age=9"), 200, false},
		{"set-cookie", hdr(), hdr("Cache-Control", "max-age=9", "Set-Cookie", "a=b"), 200, false},
		{"vary star", hdr(), hdr("Cache-Control", "max-age=9", "Vary", "Accept, *"), 200, false},
		{"404", hdr(), hdr("Cache-Control", "max-age=9"), 404, true},
		{"500", hdr(), hdr("Cache-Control", "max-age=9"), 500, false},
		{"206", hdr(), hdr("Cache-Control", "max-age=9"), 206, false},
		{"authorization", hdr("Authorization", "x"), hdr("Cache-Control", "max-age=9"), 200, false},
		{"authorization public", hdr("Authorization", "x"), hdr("Cache-Control", "public, max-age=9"), 200, true},
	} {
		if ok, why := httpcache.Storable(tc.req, tc.status, tc.resp); ok != tc.ok {
			t.Errorf("%s: storable = %v (%s), want %v", tc.name, ok, why, tc.ok)
		}
	}
}

func TestLifetimeAndAge(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	date := now.Add(-10 * time.Second).Format(http.TimeFormat)
	for _, tc := range []struct {
		resp http.Header
		want time.Duration
	}{
		{http.Header{"Cache-Control": {"max-age=60, s-maxage=30"}}, 30 * time.Second},
		{http.Header{"Cache-Control": {"max-age=60"}, "Expires": {"garbage"}}, time.Minute},
		{http.Header{"Expires": {now.Add(time.Hour).Format(http.TimeFormat)}, "Date": {now.Format(http.TimeFormat)}}, time.Hour},
		{http.Header{"Expires": {"0"}}, 0},
	} {
		if got := httpcache.Lifetime(tc.resp, now); got != tc.want {
			t.Errorf("Lifetime(%v) = %v, want %v", tc.resp, got, tc.want)
		}
	}
	// RFC 9111 §4.2.3: the larger of the apparent age (Date) and the Age
	// field plus the time the request took.
	h := http.Header{"Date": {date}, "Age": {"3"}}
	if got := httpcache.InitialAge(h, now.Add(-2*time.Second), now); got != 10*time.Second {
		t.Errorf("InitialAge by Date = %v, want 10s", got)
	}
	h.Set("Age", "20")
	if got := httpcache.InitialAge(h, now.Add(-2*time.Second), now); got != 22*time.Second {
		t.Errorf("InitialAge by Age = %v, want 22s", got)
	}
}
