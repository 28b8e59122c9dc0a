package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/edgecdn/edge/edge/app"
)

// serveOrigin answers an origin route: from the shared cache when the
// request may be (GET or HEAD, no Authorization), else by passing it
// through, body streamed both ways.
func (h *Handler) serveOrigin(w http.ResponseWriter, r *http.Request, rt *app.Route, id string) {
	switch {
	case h.cfg.HTTPCache == nil:
		h.proxyPass(w, r, rt, id, "")
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		h.proxyPass(w, r, rt, id, "method")
	case r.Header.Get("Authorization") != "":
		h.proxyPass(w, r, rt, id, "authorization")
	default:
		h.serveCached(w, r, rt, id)
	}
}

// proxyPass forwards r to the origin and streams the answer back, storing
// nothing. reason, when set, is reported as a cache bypass.
func (h *Handler) proxyPass(w http.ResponseWriter, r *http.Request, rt *app.Route, id, reason string) {
	resp, err := h.originDo(r.Context(), originRequest(r.Context(), r, rt.Origin, r.Method, false), rt.Origin)
	if err != nil {
		h.originFailed(w, r, rt, id, err)
		return
	}
	defer resp.Body.Close()
	if reason != "" {
		h.cfg.HTTPCache.Stats().Bypass.Add(1)
		setCacheStatus(w.Header(), "BYPASS", "fwd=bypass; detail="+reason)
	}
	h.streamResponse(w, r, resp, id)
}

// errOriginTimeout is the cause of a fetch cancelled because the origin
// sent no response headers within the route's origin_timeout.
var errOriginTimeout = errors.New("origin did not answer in time")

// originDo sends req with the route's header timeout: past o.Timeout
// without response headers the request is cancelled with errOriginTimeout.
func (h *Handler) originDo(ctx context.Context, req *http.Request, o *app.Origin) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(o.Timeout, func() { cancel(errOriginTimeout) })
	resp, err := h.origins.get(o.Key, func() *http.Transport { return newOriginTransport(o) }).RoundTrip(req.WithContext(ctx))
	timer.Stop()
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
		cancel(nil)
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

// cancelOnClose releases a fetch's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// originFailed maps a failed fetch onto 504 (the origin was too slow) or
// 502 (anything else: refused, reset, bad TLS), with the request id; the
// log has the detail.
func (h *Handler) originFailed(w http.ResponseWriter, r *http.Request, rt *app.Route, id string, err error) {
	status, kind := http.StatusBadGateway, "the origin could not be reached"
	var ne net.Error
	if errors.Is(err, errOriginTimeout) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		status, kind = http.StatusGatewayTimeout, "the origin did not answer in time"
	}
	if r.Context().Err() != nil {
		return // the client left: nobody to answer
	}
	if c := h.cfg.HTTPCache; c != nil {
		c.Stats().OriginErrors.Add(1)
	}
	h.log.LogAttrs(r.Context(), slog.LevelWarn, "origin failed", slog.String("id", id),
		slog.String("route", rt.Pattern), slog.String("origin", rt.Origin.URL.String()),
		slog.Int("status", status), slog.Any("err", err))
	http.Error(w, fmt.Sprintf("%s (request id %s)", kind, id), status)
}

// streamResponse copies an origin response to the client as it arrives,
// flushing when the origin streams (no Content-Length).
func (h *Handler) streamResponse(w http.ResponseWriter, r *http.Request, resp *http.Response, id string) {
	hdr := w.Header()
	copyOriginHeader(hdr, resp)
	w.WriteHeader(resp.StatusCode)
	if r.Method == http.MethodHead {
		return
	}
	n, err := copyFlushing(w, resp.Body, resp.ContentLength < 0)
	if c := h.cfg.HTTPCache; c != nil {
		c.Stats().OriginBytes.Add(uint64(n))
	}
	if err != nil && r.Context().Err() == nil {
		h.log.Warn("origin body cut short", "id", id, "bytes", n, "err", err)
		panic(http.ErrAbortHandler) // the client must see a broken response, not a short one
	}
}

// copyOriginHeader copies resp's fields minus hop-by-hop ones, and adds
// the node to Via.
func copyOriginHeader(dst http.Header, resp *http.Response) {
	src := resp.Header.Clone()
	removeHopByHop(src)
	for k, v := range src {
		dst[k] = v
	}
	if resp.ContentLength >= 0 && dst.Get("Content-Length") == "" {
		dst.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	addVia(dst, resp.ProtoMajor, resp.ProtoMinor)
}

// copyFlushing copies src to w; with flush, each piece is sent at once.
func copyFlushing(w http.ResponseWriter, src io.Reader, flush bool) (int64, error) {
	if !flush {
		return io.Copy(w, src)
	}
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := src.Read(buf)
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
			_ = rc.Flush()
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
