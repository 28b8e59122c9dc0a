package edge

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/modules"
)

// serveDynamic runs the route's module for this request in a fresh store.
// The body is read before a guest slot is taken, so a slow client holds
// no slot; the guest then runs with everything it needs in memory.
func (h *Handler) serveDynamic(w http.ResponseWriter, r *http.Request, rt *app.Route, id string) {
	var body []byte // most requests (GET) have none: no buffer for them
	var err error
	if r.Body != nil && r.Body != http.NoBody {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("request body larger than %d bytes", tooBig.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read request body", http.StatusBadRequest)
		return
	}
	release, err := h.limiter.Acquire(r.Context())
	if err != nil {
		if errors.Is(err, ErrOverloaded) {
			h.stats.Overloaded.Add(1)
		}
		w.Header().Set("Retry-After", "1")
		http.Error(w, "the node is at capacity, retry shortly", http.StatusServiceUnavailable)
		return
	}
	resp, out, err := h.run(r, rt, body)
	release()
	h.stats.countGuest(err)
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
	writeGuestResponse(w, r, resp)
}

// run hands the request to the route's executor.
func (h *Handler) run(r *http.Request, rt *app.Route, body []byte) (*modules.Response, *modules.Output, error) {
	engine := rt.Module.Engine()
	if rt.Executor == "edge" {
		return engine.RunEdge(rt.Module, modules.EdgeRequest(r, body), rt.Limits)
	}
	return engine.RunWAGI(rt.Module, modules.WAGICommand(r, rt.WAGI, body), rt.Limits)
}

func writeGuestResponse(w http.ResponseWriter, r *http.Request, resp *modules.Response) {
	hdr := w.Header()
	for k, v := range resp.Header {
		hdr[k] = v
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
