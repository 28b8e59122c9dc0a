package edge

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/httpcache"
)

// cacheKey is the primary cache key of r: its host (as routed) and its
// request-target. Nothing else a client sends selects a stored response,
// except the fields the origin names in Vary.
func cacheKey(r *http.Request) string {
	return httpcache.Key(r.Host, r.URL.RequestURI())
}

// serveCached answers a GET or HEAD through the cache: a fresh entry is a
// hit; a stale one inside stale-while-revalidate (or soft-purged) is
// served while one request revalidates it in the background; anything
// else is fetched, concurrent misses for the key sharing one fetch.
func (h *Handler) serveCached(w http.ResponseWriter, r *http.Request, rt *app.Route, id string) {
	if h.serveFastHit(w, r) {
		return
	}
	h.serveCachedKey(w, r, rt, id, cacheKey(r))
}

// keyBufs hold hits' keys while they are looked up: not on the stack,
// where 256 bytes more in the frame make a fresh h2 handler goroutine grow
// (copy) its stack sooner (see logAccess).
var keyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// serveFastHit answers a plain GET or HEAD from a fresh 200 entry with the
// fields built for its hits, and reports whether it did: the common case
// of a CDN, as cheap as a static file's. The key is built in a pooled
// buffer, and one lock finds the entry and its body (cache_hit.go). All
// else (stale, miss, Range, conditionals, a body lost) is left to
// serveCachedKey, which looks again.
func (h *Handler) serveFastHit(w http.ResponseWriter, r *http.Request) bool {
	if !plainRequest(r) {
		return false
	}
	c := h.cfg.HTTPCache
	buf := keyBufs.Get().(*[]byte)
	*buf = httpcache.AppendKey((*buf)[:0], r.Host, r.URL.RequestURI())
	e, body := c.LookupBody(*buf, r.Header)
	if cap(*buf) <= 4<<10 { // a giant request-target's buffer is not kept
		keyBufs.Put(buf)
	}
	now := c.Now()
	if e == nil || e.Status != http.StatusOK || !e.Fresh(now) {
		return false
	}
	f := hitFieldsOf(e)
	if !f.typed || !h.serveHit(w, r, e, f, body, now) {
		return false
	}
	c.Stats().Hits.Add(1)
	return true
}

// serveCachedKey is serveCached past the fast hit, for key.
//
//go:noinline
func (h *Handler) serveCachedKey(w http.ResponseWriter, r *http.Request, rt *app.Route, id, key string) {
	c := h.cfg.HTTPCache
	for attempt := 0; ; attempt++ {
		e := c.Lookup(key, r.Header)
		now := c.Now()
		switch {
		case e != nil && e.Fresh(now):
			if h.serveEntry(w, r, e, "HIT", "hit") {
				c.Stats().Hits.Add(1)
				return
			}
			continue // body lost: the entry is gone, look again
		case e != nil && e.StaleWhileRevalidate(now):
			h.revalidateLater(r, rt, key, e)
			if h.serveEntry(w, r, e, "STALE", "fwd=stale; detail=revalidating") {
				c.Stats().Stale.Add(1)
				return
			}
			continue
		case e == nil && r.Method == http.MethodHead:
			h.proxyPass(w, r, rt, id, "") // a HEAD cannot fill the cache
			return
		}
		if attempt > 0 {
			h.fetch(w, r, rt, id, key, e) // waited once already: fetch alone
			return
		}
		leader, wait, finish := c.Join(key)
		if leader {
			defer finish()
			h.fetch(w, r, rt, id, key, e)
			return
		}
		wait(r.Context())
	}
}

// revalidateLater starts one background revalidation of e, unless a fetch
// of its key is already under way.
func (h *Handler) revalidateLater(r *http.Request, rt *app.Route, key string, e *httpcache.Entry) {
	leader, _, finish := h.cfg.HTTPCache.Join(key)
	if !leader {
		return
	}
	req := r.Clone(context.WithoutCancel(r.Context()))
	go func() {
		defer finish()
		h.refresh(req, rt, key, e)
	}()
}

// refresh revalidates or refetches e for a background revalidation.
func (h *Handler) refresh(r *http.Request, rt *app.Route, key string, e *httpcache.Entry) {
	c := h.cfg.HTTPCache
	ctx, cancel := context.WithTimeout(r.Context(), maxFetch)
	defer cancel()
	epoch := c.Epoch()
	res, err := h.fetchShared(ctx, r, rt, key, e)
	if err != nil {
		h.log.Warn("background revalidation failed", "key", key, "err", err)
		return
	}
	defer res.close()
	switch {
	case res.notModified:
		c.Revalidated(e, res.resp, epoch)
	case res.storable:
		c.Put(httpcache.NewEntry(key, r.Header, res.resp), epoch)
	}
}

// maxFetch bounds a shared fetch whole (headers and body), since no single
// client's cancellation ends it.
const maxFetch = 10 * time.Minute

// fetch gets key from the origin for this request, revalidating stale
// when it has validators, stores what may be stored and answers.
func (h *Handler) fetch(w http.ResponseWriter, r *http.Request, rt *app.Route, id, key string, stale *httpcache.Entry) {
	c := h.cfg.HTTPCache
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), maxFetch)
	defer cancel()
	epoch := c.Epoch()
	res, err := h.fetchShared(ctx, r, rt, key, stale)
	if failed(res, err) && stale != nil && stale.StaleIfError(c.Now()) &&
		h.serveEntry(w, r, stale, "STALE", "fwd=stale; detail=origin-error") {
		c.Stats().StaleIfErrored.Add(1)
		if res != nil {
			res.close()
		}
		return
	}
	if err != nil {
		h.originFailed(w, r, rt, id, err)
		return
	}
	defer res.close()
	switch {
	case res.notModified:
		e := c.Revalidated(stale, res.resp, epoch)
		if h.serveEntry(w, r, e, "HIT", "fwd=stale; fwd-status=304") {
			return
		}
		http.Error(w, "cached body unreadable (request id "+id+")", http.StatusBadGateway)
	case res.storable:
		c.Stats().Misses.Add(1)
		e := httpcache.NewEntry(key, r.Header, res.resp)
		stored := c.Put(e, epoch)
		detail := "fwd=uri-miss; stored"
		if !stored {
			detail = "fwd=uri-miss"
		}
		h.serveEntry(w, r, e, "MISS", detail)
	default:
		c.Stats().Misses.Add(1)
		setCacheStatus(w.Header(), "MISS", "fwd=uri-miss; detail="+res.reason)
		h.streamFetched(w, r, res, id)
	}
}

// failed says whether a fetch failed in the sense of stale-if-error (RFC
// 5861 §4): no response, or a 500, 502, 503 or 504.
func failed(res *fetched, err error) bool {
	if err != nil {
		return true
	}
	switch res.raw.StatusCode {
	case 500, 502, 503, 504:
		return true
	}
	return false
}

// fetched is the outcome of a shared fetch: a 304 for the stale entry, a
// storable response read in full, or a response to pass on (its body
// partly read into head, the rest still in raw).
type fetched struct {
	raw         *http.Response
	resp        *httpcache.Response
	notModified bool
	storable    bool
	reason      string
	head        []byte
}

func (f *fetched) close() { _ = f.raw.Body.Close() }

// fetchShared sends a shared GET for r (conditional when stale has
// validators) and reads a storable body up to the cache's object limit.
func (h *Handler) fetchShared(ctx context.Context, r *http.Request, rt *app.Route, key string, stale *httpcache.Entry) (*fetched, error) {
	req := originRequest(ctx, r, rt.Origin, http.MethodGet, true)
	if stale != nil {
		for k, v := range stale.Validators() {
			req.Header[k] = v
		}
	}
	requested := h.cfg.HTTPCache.Now()
	raw, err := h.originDo(ctx, req, rt.Origin)
	if err != nil {
		return nil, err
	}
	hdr := raw.Header.Clone()
	removeHopByHop(hdr)
	f := &fetched{raw: raw, resp: &httpcache.Response{Status: raw.StatusCode, Header: hdr, Requested: requested, Received: h.cfg.HTTPCache.Now()}}
	if raw.StatusCode == http.StatusNotModified && stale != nil {
		f.notModified = true
		return f, nil
	}
	ok, reason := httpcache.Storable(r.Header, raw.StatusCode, hdr)
	limit := h.cfg.HTTPCache.MaxObject()
	if ok && raw.ContentLength > limit {
		ok, reason = false, httpcache.ReasonTooLarge
	}
	f.reason = reason
	if !ok {
		return f, nil
	}
	body, err := io.ReadAll(io.LimitReader(raw.Body, limit+1))
	if err != nil {
		raw.Body.Close()
		return nil, err
	}
	h.cfg.HTTPCache.Stats().OriginBytes.Add(uint64(len(body)))
	if int64(len(body)) > limit {
		f.head, f.reason = body, httpcache.ReasonTooLarge
		return f, nil
	}
	f.resp.Body, f.storable = body, true
	return f, nil
}

// streamFetched passes on a response the cache does not keep.
func (h *Handler) streamFetched(w http.ResponseWriter, r *http.Request, f *fetched, id string) {
	if len(f.head) > 0 {
		f.raw.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(f.head), f.raw.Body), f.raw.Body}
	}
	h.streamResponse(w, r, f.raw, id)
}

// serveEntry answers from a stored entry, with Age and cache status. A
// 200 goes through http.ServeContent, which answers the client's own
// conditionals (If-None-Match → 304) and Range requests from the full
// object. It reports false, having written nothing, if the body is lost.
func (h *Handler) serveEntry(w http.ResponseWriter, r *http.Request, e *httpcache.Entry, xcache, detail string) bool {
	if detail == "hit" && e.Status == http.StatusOK && plainRequest(r) {
		if f := hitFieldsOf(e); f.typed {
			return h.serveHit(w, r, e, f, nil, h.cfg.HTTPCache.Now()) // cache_hit.go: the common case
		}
	}
	return h.serveStored(w, r, e, xcache, detail)
}

// serveStored is serveEntry for all but plain hits; apart, so that its
// frame is not on the stack of every hit (see logAccess).
//
//go:noinline
func (h *Handler) serveStored(w http.ResponseWriter, r *http.Request, e *httpcache.Entry, xcache, detail string) bool {
	c := h.cfg.HTTPCache
	body, err := c.Body(e)
	if err != nil {
		return false
	}
	if cl, ok := body.(io.Closer); ok {
		defer cl.Close()
	}
	hdr := w.Header()
	for k, v := range e.Header {
		hdr[k] = v
	}
	hdr.Set("Age", strconv.FormatInt(int64(e.Age(c.Now())/time.Second), 10))
	hdr.Add("Via", "1.1 edge")
	if detail == "hit" {
		detail = "hit; ttl=" + strconv.FormatInt(int64((e.Lifetime-e.Age(c.Now()))/time.Second), 10)
	}
	setCacheStatus(hdr, xcache, detail)
	c.Stats().CacheBytes.Add(uint64(e.Size))
	if e.Status == http.StatusOK {
		hdr.Del("Content-Length")
		if plainRequest(r) && hdr.Get("Content-Type") != "" {
			// Nothing conditional, ranged or to sniff: write the body as
			// it is, as static files are (http.ServeContent's copy was
			// most of a hit's time).
			hdr.Set("Accept-Ranges", "bytes")
			hdr.Set("Content-Length", strconv.FormatInt(e.Size, 10))
			w.WriteHeader(http.StatusOK)
			if r.Method != http.MethodHead {
				_, _ = io.Copy(w, body)
			}
			return true
		}
		if hdr.Get("Content-Encoding") != "" && r.Header.Get("Range") == "" {
			hdr.Set("Content-Length", strconv.FormatInt(e.Size, 10))
		}
		http.ServeContent(w, r, "", time.Time{}, body)
		return true
	}
	hdr.Set("Content-Length", strconv.FormatInt(e.Size, 10))
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, body)
	}
	return true
}

// plainRequest reports whether r is a GET or HEAD with no precondition
// and no Range, which http.ServeContent would answer with the whole body.
func plainRequest(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	for _, k := range [...]string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"} {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	return true
}

// setCacheStatus sets X-Cache and the RFC 9211 Cache-Status field.
func setCacheStatus(h http.Header, xcache, detail string) {
	h.Set("X-Cache", xcache)
	h.Set("Cache-Status", "edge; "+detail)
}
