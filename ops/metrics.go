package ops

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
)

// metric is one series in Prometheus' text format.
type metric struct {
	name, help, kind string // kind: counter or gauge
	labels           string // `class="2xx"`, or ""
	value            float64
}

// metrics serves GET /metrics in Prometheus' text format: requests by
// status class, guest runs and failures by kind, overload refusals, the
// guest slots in use and the queue, and the cache's counters. Behind the
// admin token like every admin call (Prometheus sends it as a bearer).
func (a *Admin) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var ms []metric
	if h := a.cfg.Handler; h != nil {
		ms = append(ms, handlerMetrics(h)...)
	}
	if c := a.cfg.Cache; c != nil {
		ms = append(ms, cacheMetrics(c.Counters())...)
	}
	if f := a.cfg.MeshRefused; f != nil {
		ms = append(ms, metric{"edge_gossip_states_refused_total",
			"Gossiped app states refused: unsigned, badly signed, out of the key's scope, or a leaping sequence.", "counter", "", float64(f())})
	}
	writeMetrics(w, ms)
}

func handlerMetrics(h *edge.Handler) []metric {
	s := h.Stats()
	var ms []metric
	for i := range s.Responses {
		ms = append(ms, metric{"edge_responses_total", "Responses sent, by status class.", "counter",
			fmt.Sprintf(`class="%dxx"`, i+1), float64(s.Responses[i].Load())})
	}
	ms = append(ms, metric{"edge_guest_runs_total", "Guest modules run, one fresh store each.", "counter", "", float64(s.GuestRuns.Load())})
	for _, f := range []struct {
		kind string
		n    int64
	}{
		{"trap", s.GuestTraps.Load()}, {"deadline", s.GuestDeadlines.Load()},
		{"output_too_large", s.GuestTooLarge.Load()}, {"bad_response", s.GuestBadOutput.Load()},
	} {
		ms = append(ms, metric{"edge_guest_failures_total", "Guest runs that failed, by kind.", "counter", `kind="` + f.kind + `"`, float64(f.n)})
	}
	return append(ms,
		metric{"edge_overloaded_total", "Requests refused with 503 after waiting for a guest slot.", "counter", "", float64(s.Overloaded.Load())},
		metric{"edge_guests_in_flight", "Guests running now.", "gauge", "", float64(h.Limiter().InFlight())},
		metric{"edge_guests_waiting", "Requests waiting for a guest slot now.", "gauge", "", float64(h.Limiter().Waiting())},
	)
}

func cacheMetrics(c *cache.Counters) []metric {
	sec := func(n int64) float64 { return time.Duration(n).Seconds() }
	return []metric{
		{"edge_cache_artifact_hits_total", "Compiled artifacts loaded from the cache.", "counter", "", float64(c.ArtifactHits.Load())},
		{"edge_cache_artifact_misses_total", "Modules compiled because no artifact was stored.", "counter", "", float64(c.ArtifactMisses.Load())},
		{"edge_cache_artifact_corrupt_total", "Stored artifacts found damaged or unloadable.", "counter", "", float64(c.ArtifactCorrupt.Load())},
		{"edge_cache_artifact_evictions_total", "Artifacts evicted over the budget.", "counter", "", float64(c.ArtifactEvictions.Load())},
		{"edge_cache_compiles_total", "Module compilations.", "counter", "", float64(c.Compiles.Load())},
		{"edge_cache_compile_seconds_total", "Time spent compiling modules.", "counter", "", sec(c.CompileNanos.Load())},
		{"edge_cache_deserializes_total", "Artifacts loaded.", "counter", "", float64(c.Deserializes.Load())},
		{"edge_cache_deserialize_seconds_total", "Time spent loading artifacts.", "counter", "", sec(c.DeserializeNanos.Load())},
		{"edge_cache_blobs_stored_total", "Blobs stored.", "counter", "", float64(c.BlobsStored.Load())},
		{"edge_cache_blob_bytes_stored_total", "Bytes of blobs stored.", "counter", "", float64(c.BlobBytesStored.Load())},
	}
}

// writeMetrics prints series, with HELP and TYPE once per name.
func writeMetrics(w io.Writer, ms []metric) {
	seen := map[string]bool{}
	for _, m := range ms {
		if !seen[m.name] {
			seen[m.name] = true
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.kind)
		}
		if m.labels != "" {
			fmt.Fprintf(w, "%s{%s} %g\n", m.name, m.labels, m.value)
		} else {
			fmt.Fprintf(w, "%s %g\n", m.name, m.value)
		}
	}
}

// healthz answers 200 while the admin listener serves: for load balancers
// and supervisors. It needs no token and tells nothing else.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}
