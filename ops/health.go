package ops

import (
	"io"
	"net/http"
	"strings"
	"sync"
)

// Readiness is what GET /readyz answers: ready once every required
// condition is met, and not ready for good once a drain has started, so a
// load balancer stops sending traffic before the listeners close.
type Readiness struct {
	mu       sync.Mutex
	pending  []condition // in the order required
	draining bool
}

type condition struct{ name, reason string }

// NewReadiness returns a Readiness that is ready until something is
// required.
func NewReadiness() *Readiness { return &Readiness{} }

// Require adds a condition; until Done(name), /readyz answers 503 with
// reason.
func (r *Readiness) Require(name, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, condition{name, reason})
}

// Done marks a condition met.
func (r *Readiness) Done(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, c := range r.pending {
		if c.name == name {
			r.pending = append(r.pending[:i], r.pending[i+1:]...)
			return
		}
	}
}

// Drain makes the node not ready from now on.
func (r *Readiness) Drain() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.draining = true
}

// Check reports whether the node is ready, and if not, why.
func (r *Readiness) Check() (ready bool, reason string) {
	if r == nil {
		return true, ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.draining {
		return false, "draining: the node is shutting down"
	}
	if len(r.pending) > 0 {
		reasons := make([]string, len(r.pending))
		for i, c := range r.pending {
			reasons[i] = c.reason
		}
		return false, strings.Join(reasons, "; ")
	}
	return true, ""
}

// healthz answers 200 while the process serves: for supervisors. It needs
// no token and tells nothing else.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// readyz answers 200 "ready" or 503 with the reason: for load balancers.
// No token: it says only whether to send traffic here.
func (a *Admin) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	ready, reason := a.cfg.Ready.Check()
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "not ready: "+reason+"\n")
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}
