package edge

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/httpcache"
	"github.com/edgecdn/edge/modules"
)

// maxFetchRedirects bounds the redirects one guest fetch follows, each to
// an allowed host only.
const maxFetchRedirects = 5

// guestFetcher makes the outbound requests of one guest run (the edge
// ABI's fetch, docs/cdn.md): only to the route's allowed hosts, at most
// MaxCount of them, each answer at most MaxSize bytes, within the run's
// deadline (the context modules hands over), and GETs through the shared
// HTTP cache with collapsing, under keys of their own per app.
type guestFetcher struct {
	h     *Handler
	app   string
	route string
	id    string
	o     *app.Outbound
	count int // a run is one thread: no lock
}

// withGuestFetcher gives the run a fetcher if its route allows any host.
func (h *Handler) withGuestFetcher(ctx context.Context, appName string, rt *app.Route, id string) context.Context {
	if rt.Outbound == nil || rt.Executor != "edge" {
		return ctx
	}
	return modules.WithFetcher(ctx, &guestFetcher{h: h, app: appName, route: rt.Pattern, id: id, o: rt.Outbound})
}

// Fetch implements modules.Fetcher.
func (f *guestFetcher) Fetch(ctx context.Context, fr *modules.FetchRequest) (*modules.FetchResponse, error) {
	resp, err := f.fetch(ctx, fr)
	if err != nil {
		f.h.stats.GuestFetchErrors.Add(1)
		f.h.log.LogAttrs(ctx, slog.LevelWarn, "guest fetch refused or failed", slog.String("id", f.id),
			slog.String("app", f.app), slog.String("route", f.route), slog.String("method", fr.Method),
			slog.String("url", fr.URL), slog.Any("err", err))
	}
	return resp, err
}

func (f *guestFetcher) fetch(ctx context.Context, fr *modules.FetchRequest) (*modules.FetchResponse, error) {
	if f.count++; f.count > f.o.MaxCount {
		return nil, fmt.Errorf("%w: more than %d in one request (max_fetches)", modules.ErrFetchCount, f.o.MaxCount)
	}
	if fr.Method == http.MethodConnect || fr.Method == http.MethodTrace {
		return nil, fmt.Errorf("%w: method %s", modules.ErrFetchBad, fr.Method)
	}
	u, err := url.Parse(fr.URL)
	if err != nil || !u.IsAbs() || u.Hostname() == "" || u.User != nil || u.Opaque != "" {
		return nil, fmt.Errorf("%w: %q is not an absolute http(s) URL without user info", modules.ErrFetchBad, fr.URL)
	}
	u.Fragment, u.RawFragment = "", ""
	if err := f.allowed(u); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, fr.Method, u.String(), bytes.NewReader(fr.Body))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", modules.ErrFetchBad, err)
	}
	req.Header = fr.Header.Clone()
	removeHopByHop(req.Header)
	req.Header.Del("Host")
	req.Header.Del("Content-Length")
	if len(fr.Body) == 0 {
		req.Body, req.ContentLength = nil, 0
	}
	f.h.stats.GuestFetches.Add(1)
	if c := f.h.cfg.HTTPCache; c != nil && req.Method == http.MethodGet && req.Header.Get("Authorization") == "" {
		return f.cached(ctx, c, req)
	}
	resp, _, err := f.do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return f.read(resp)
}

// allowed checks u against the route's allowed_outbound_hosts.
func (f *guestFetcher) allowed(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q (http and https only)", modules.ErrFetchRefused, u.Scheme)
	}
	if _, ok := f.o.Allows(u); !ok {
		return fmt.Errorf("%w: %s://%s is not in the route's allowed_outbound_hosts", modules.ErrFetchRefused, u.Scheme, u.Host)
	}
	return nil
}

// do sends req, following redirects of a GET or HEAD to allowed hosts
// only; it reports whether it followed any.
func (f *guestFetcher) do(req *http.Request) (*http.Response, bool, error) {
	t := f.h.guests.get(f.o.CAKey, func() *http.Transport { return newGuestTransport(f.o) })
	for hop := 0; ; hop++ {
		resp, err := t.RoundTrip(req)
		if err != nil {
			return nil, hop > 0, fetchError(req.Context(), err)
		}
		loc := resp.Header.Get("Location")
		if !isRedirect(resp.StatusCode) || loc == "" || (req.Method != http.MethodGet && req.Method != http.MethodHead) {
			return resp, hop > 0, nil
		}
		resp.Body.Close()
		if hop == maxFetchRedirects {
			return nil, true, fmt.Errorf("%w: more than %d redirects", modules.ErrFetchFailed, maxFetchRedirects)
		}
		next, err := req.URL.Parse(loc)
		if err != nil {
			return nil, true, fmt.Errorf("%w: redirect to %q: %w", modules.ErrFetchFailed, loc, err)
		}
		if err := f.allowed(next); err != nil {
			return nil, true, fmt.Errorf("redirect to %s: %w", next.Redacted(), err)
		}
		req = req.Clone(req.Context())
		req.URL, req.Host = next, ""
		req.Body, req.ContentLength, req.GetBody = nil, 0, nil
		if next.Host != resp.Request.URL.Host {
			req.Header.Del("Authorization") // as net/http does for another host
			req.Header.Del("Cookie")
		}
	}
}

func isRedirect(status int) bool {
	switch status {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// fetchError says why a request failed, in the guest's terms.
func fetchError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, errForbiddenAddress):
		return fmt.Errorf("%w: %w", modules.ErrFetchRefused, err)
	case ctx.Err() != nil:
		return fmt.Errorf("%w: the request's deadline passed (%w)", modules.ErrFetchFailed, err)
	case errors.As(err, new(*tls.CertificateVerificationError)):
		return fmt.Errorf("%w: the server's TLS certificate is not trusted (a route's origin_ca adds roots): %w", modules.ErrFetchFailed, err)
	}
	return fmt.Errorf("%w: %w", modules.ErrFetchFailed, err)
}

// read takes resp's body, refusing one over the route's cap.
func (f *guestFetcher) read(resp *http.Response) (*modules.FetchResponse, error) {
	if resp.ContentLength > f.o.MaxSize {
		return nil, f.tooLarge(resp.ContentLength)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.o.MaxSize+1))
	if err != nil {
		return nil, fetchError(resp.Request.Context(), err)
	}
	if int64(len(body)) > f.o.MaxSize {
		return nil, f.tooLarge(-1)
	}
	hdr := resp.Header.Clone()
	removeHopByHop(hdr)
	return &modules.FetchResponse{Status: resp.StatusCode, Header: hdr, Body: body}, nil
}

func (f *guestFetcher) tooLarge(n int64) error {
	if n < 0 {
		return fmt.Errorf("%w: the body is over %d bytes (max_fetch_size)", modules.ErrFetchTooLarge, f.o.MaxSize)
	}
	return fmt.Errorf("%w: the body is %d bytes, over %d (max_fetch_size)", modules.ErrFetchTooLarge, n, f.o.MaxSize)
}

// guestCacheKey keeps guest fetches apart from origin routes and from
// other apps: a guest never reads what another app stored. Unlike an
// origin route's key it keeps the scheme and port, which pick the server.
func guestCacheKey(appName string, u *url.URL) string {
	return "guest:" + appName + ":" + u.Scheme + "://" + strings.ToLower(u.Host) + u.RequestURI()
}

// cached answers a GET from the cache when fresh; otherwise one fetch
// per key at a time (the others wait for it, bounded, and read what it
// stored), revalidating a stale entry that has validators, and falling
// back to it under stale-if-error.
func (f *guestFetcher) cached(ctx context.Context, c *httpcache.Cache, req *http.Request) (*modules.FetchResponse, error) {
	key := guestCacheKey(f.app, req.URL)
	for attempt := 0; ; attempt++ {
		e := c.Lookup(key, req.Header)
		now := c.Now()
		if e != nil && e.Fresh(now) {
			if resp, err := f.fromEntry(c, e, "HIT"); err == nil || !errors.Is(err, errEntryLost) {
				if err == nil {
					c.Stats().Hits.Add(1)
				}
				return resp, err
			}
			continue
		}
		if e != nil && e.StaleWhileRevalidate(now) {
			if resp, err := f.fromEntry(c, e, "STALE"); err == nil || !errors.Is(err, errEntryLost) {
				if err == nil {
					c.Stats().Stale.Add(1)
					f.revalidateLater(c, req, key, e)
				}
				return resp, err
			}
			continue
		}
		if attempt == 0 {
			leader, wait, finish := c.Join(key)
			if !leader {
				wait(ctx)
				if ctx.Err() != nil {
					return nil, fmt.Errorf("%w: the request's deadline passed", modules.ErrFetchFailed)
				}
				continue
			}
			defer finish()
		}
		return f.fill(ctx, c, req, key, e)
	}
}

// guestRevalidation bounds a background revalidation: no guest waits
// for it, so the run's deadline does not end it.
const guestRevalidation = time.Minute

// revalidateLater starts one background revalidation of e (inside
// stale-while-revalidate, or soft-purged), unless a fetch of its key is
// already under way; the guest has its stale answer meanwhile.
func (f *guestFetcher) revalidateLater(c *httpcache.Cache, req *http.Request, key string, e *httpcache.Entry) {
	leader, _, finish := c.Join(key)
	if !leader {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), guestRevalidation)
	r := req.Clone(ctx)
	go func() {
		defer finish()
		defer cancel()
		if _, err := f.fill(ctx, c, r, key, e); err != nil {
			f.h.log.Warn("guest fetch: background revalidation failed", "app", f.app, "url", r.URL.Redacted(), "err", err)
		}
	}()
}

// errEntryLost: a cached body could not be read; the entry is gone.
var errEntryLost = errors.New("cached body lost")

// fill fetches key (conditionally, when stale has validators) and stores
// what may be stored.
func (f *guestFetcher) fill(ctx context.Context, c *httpcache.Cache, req *http.Request, key string, stale *httpcache.Entry) (*modules.FetchResponse, error) {
	epoch := c.Epoch()
	if stale != nil {
		req = req.Clone(ctx)
		for k, v := range stale.Validators() {
			req.Header[k] = v
		}
	}
	requested := c.Now()
	resp, redirected, err := f.do(req)
	if stale != nil && stale.StaleIfError(c.Now()) && (err != nil || resp.StatusCode >= 500 && resp.StatusCode <= 504 && resp.StatusCode != 501) {
		if resp != nil {
			resp.Body.Close()
		}
		c.Stats().StaleIfErrored.Add(1)
		return f.fromEntry(c, stale, "STALE")
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	hdr := resp.Header.Clone()
	removeHopByHop(hdr)
	hc := &httpcache.Response{Status: resp.StatusCode, Header: hdr, Requested: requested, Received: c.Now()}
	if resp.StatusCode == http.StatusNotModified && stale != nil && !redirected {
		return f.fromEntry(c, c.Revalidated(stale, hc, epoch), "HIT")
	}
	out, err := f.read(resp)
	if err != nil {
		return nil, err
	}
	c.Stats().Misses.Add(1)
	c.Stats().OriginBytes.Add(uint64(len(out.Body)))
	ok, _ := httpcache.Storable(req.Header, resp.StatusCode, hdr)
	if ok && !redirected && int64(len(out.Body)) <= c.MaxObject() {
		hc.Body = out.Body
		c.Put(httpcache.NewEntry(key, req.Header, hc), epoch)
	}
	out.Header.Set("X-Cache", "MISS")
	return out, nil
}

// fromEntry answers from a stored entry, with Age and X-Cache as a
// client of an origin route would see them.
func (f *guestFetcher) fromEntry(c *httpcache.Cache, e *httpcache.Entry, xcache string) (*modules.FetchResponse, error) {
	if e.Size > f.o.MaxSize {
		return nil, f.tooLarge(e.Size)
	}
	r, err := c.Body(e)
	if err != nil {
		return nil, errEntryLost
	}
	if cl, ok := r.(io.Closer); ok {
		defer cl.Close()
	}
	body, err := io.ReadAll(io.LimitReader(r, f.o.MaxSize+1))
	if err != nil {
		return nil, errEntryLost
	}
	hdr := e.Header.Clone()
	hdr.Set("Age", strconv.FormatInt(int64(e.Age(c.Now())/time.Second), 10))
	hdr.Set("X-Cache", xcache)
	c.Stats().CacheBytes.Add(uint64(len(body)))
	return &modules.FetchResponse{Status: e.Status, Header: hdr, Body: body}, nil
}
