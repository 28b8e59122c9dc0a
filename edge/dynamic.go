package edge

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/modules"
)

// serveDynamic runs the route's module for this request in a fresh store.
// The body is read before a guest slot is taken, so a slow client holds
// no slot; the bytes it buffers count against the node's body budget
// until the guest is done with them.
func (h *Handler) serveDynamic(w http.ResponseWriter, r *http.Request, appName string, rt *app.Route, id string) {
	body, releaseBody, err := h.bodies.readBody(r, h.cfg.MaxBody)
	defer releaseBody()
	if err != nil {
		h.bodyFailed(w, err)
		return
	}
	queued := time.Now()
	release, err := h.limiter.AcquireApp(r.Context(), appName, h.cfg.Router.DynamicApps())
	h.cfg.Observer.Queue(time.Since(queued), err)
	if err != nil {
		if !errors.Is(err, ErrOverloaded) { // the client left while queued
			w.WriteHeader(StatusClientClosedRequest)
			return
		}
		h.stats.Overloaded.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "the node is at capacity, retry shortly", http.StatusServiceUnavailable)
		return
	}
	if rt.Outbound != nil {
		r = r.WithContext(h.withGuestFetcher(r.Context(), appName, rt, id))
	}
	resp, out, err := h.run(r, rt, body)
	release()
	releaseBody()
	h.stats.countGuest(err)
	h.observeGuest(appName, rt, out, err)
	if err != nil {
		h.guestFailed(w, r, rt, id, out, err)
		return
	}
	if len(out.Stderr) > 0 {
		h.log.Info("guest stderr", "id", id, "module", rt.Module.Name(), "stderr", string(out.Stderr))
	}
	// Guarded: the arguments alone cost allocations on every request.
	if h.log.Enabled(r.Context(), slog.LevelDebug) {
		h.log.Debug("guest ran", "id", id, "module", rt.Module.Name(), "duration", out.Duration)
	}
	if target := resp.Header.Get(StaticHeader); target != "" {
		h.serveGuestStatic(w, r, resp, target, id)
		return
	}
	writeGuestResponse(w, r, resp)
}

// observeGuest tells the observer about one run; out may be nil.
func (h *Handler) observeGuest(appName string, rt *app.Route, out *modules.Output, err error) {
	g := GuestDone{Route: rt, App: appName, Err: err}
	if out != nil {
		g.Duration, g.Instantiate = out.Duration, out.Instantiate
	}
	h.cfg.Observer.Guest(g)
}

// run hands the request to the route's executor.
func (h *Handler) run(r *http.Request, rt *app.Route, body []byte) (*modules.Response, *modules.Output, error) {
	engine := rt.Module.Engine()
	if rt.Executor == "edge" {
		return engine.RunEdge(r.Context(), rt.Module, modules.EdgeRequest(r, body), rt.Limits)
	}
	return engine.RunWAGI(r.Context(), rt.Module, modules.WAGICommand(r, rt.WAGI, body), rt.Limits)
}

// writeGuestResponse writes a guest's response. A header the node has
// already set (X-Request-Id, Alt-Svc) stays the node's, whatever the
// executor let through.
func writeGuestResponse(w http.ResponseWriter, r *http.Request, resp *modules.Response) {
	hdr := w.Header()
	for k, v := range resp.Header {
		if _, owned := hdr[k]; !owned {
			hdr[k] = v
		}
	}
	hdr.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(resp.Body)
	}
}

// guestFailed maps a failed run onto a status: 504 past the deadline, 502
// for output that is not a valid response, 500 for a trap. The client sees
// the kind of failure and the request id; the log has the detail.
func (h *Handler) guestFailed(w http.ResponseWriter, r *http.Request, rt *app.Route, id string, out *modules.Output, err error) {
	f := classify(err)
	status, kind := f.status, f.message
	attrs := []any{"id", id, "module", rt.Module.Name(), "route", rt.Pattern, "status", status, "err", err}
	if out != nil && len(out.Stderr) > 0 {
		attrs = append(attrs, "stderr", string(out.Stderr))
	}
	h.log.Log(r.Context(), slog.LevelWarn, "guest failed", attrs...)
	http.Error(w, fmt.Sprintf("%s (request id %s)", kind, id), status)
}

// bodyFailed answers a request whose body could not be buffered.
func (h *Handler) bodyFailed(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errBodyTooLarge):
		h.stats.BodyTooLarge.Add(1)
		http.Error(w, fmt.Sprintf("request body larger than %d bytes", h.cfg.MaxBody), http.StatusRequestEntityTooLarge)
	case errors.Is(err, errBodyBudget):
		h.stats.BodyBudgetFull.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "the node is buffering too many request bodies, retry shortly", http.StatusServiceUnavailable)
	default:
		http.Error(w, "could not read request body", http.StatusBadRequest)
	}
}
