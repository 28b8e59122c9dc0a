package ops

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/httpcache"
)

// cacheCollectors read the cache's live counters at scrape time.
func cacheCollectors(c *cache.Counters) []prometheus.Collector {
	counter := func(name, help string, v func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, v)
	}
	n := func(a interface{ Load() int64 }) func() float64 { return func() float64 { return float64(a.Load()) } }
	return []prometheus.Collector{
		counter("edge_cache_artifact_hits_total", "Compiled artifacts loaded from the cache.", n(&c.ArtifactHits)),
		counter("edge_cache_artifact_misses_total", "Modules compiled because no artifact was stored.", n(&c.ArtifactMisses)),
		counter("edge_cache_artifact_corrupt_total", "Stored artifacts found damaged or unloadable.", n(&c.ArtifactCorrupt)),
		counter("edge_cache_artifact_evictions_total", "Artifacts evicted over the budget.", n(&c.ArtifactEvictions)),
		counter("edge_cache_compiles_total", "Module compilations.", n(&c.Compiles)),
		durationHistogram("edge_cache_compile_seconds", "Module compile times.", &c.CompileTimes),
		counter("edge_cache_deserializes_total", "Artifacts loaded.", n(&c.Deserializes)),
		durationHistogram("edge_cache_deserialize_seconds", "Compiled artifact load (deserialize) times.", &c.DeserializeTimes),
		counter("edge_cache_blobs_stored_total", "Blobs stored.", n(&c.BlobsStored)),
		counter("edge_cache_blob_bytes_stored_total", "Bytes of blobs stored.", n(&c.BlobBytesStored)),
	}
}

// limiterCollectors report the guest slots in use and the queue.
func limiterCollectors(l *edge.Limiter) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edge_guests_in_flight", Help: "Guests running now."},
			func() float64 { return float64(l.InFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edge_queue_depth", Help: "Requests waiting for a guest slot now."},
			func() float64 { return float64(l.Waiting()) }),
	}
}

// bodyCollectors report the request bodies buffered and refused.
func bodyCollectors(h *edge.Handler) []prometheus.Collector {
	s := h.Stats()
	refused := func(reason string, n func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "edge_request_bodies_refused_total", ConstLabels: prometheus.Labels{"reason": reason},
			Help: "Request bodies refused, by reason: over the route's limit (413) or the node's body memory full (503).",
		}, func() float64 { return float64(n()) })
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edge_request_body_bytes", Help: "Request body bytes buffered now, bounded by --max-body-memory."},
			func() float64 { return float64(h.BodyMemory()) }),
		refused("too_large", s.BodyTooLarge.Load),
		refused("memory_full", s.BodyBudgetFull.Load),
	}
}

// meshCollector asks the mesh at scrape time: members by state and
// region, the members each app has converged or lagging, gossip bytes.
type meshCollector struct {
	members MembersFunc
	bytes   func() (sent, received int64)

	memberDesc, appDesc, bytesDesc *prometheus.Desc
}

func newMeshCollector(members MembersFunc, bytes func() (int64, int64)) *meshCollector {
	return &meshCollector{
		members: members, bytes: bytes,
		memberDesc: prometheus.NewDesc("edge_mesh_members", "Mesh members by state (alive, suspect, dead, left) and region.", []string{"state", "region"}, nil),
		appDesc:    prometheus.NewDesc("edge_mesh_app_members", "Live members per app serving the winning version (converged) or not (lagging).", []string{"app", "state"}, nil),
		bytesDesc:  prometheus.NewDesc("edge_gossip_bytes_total", "Gossip message and state-exchange bytes, by direction.", []string{"direction"}, nil),
	}
}

func (c *meshCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.memberDesc
	ch <- c.appDesc
	ch <- c.bytesDesc
}

// Collect lists the members within two seconds; a node outside a mesh
// reports no mesh series.
func (c *meshCollector) Collect(ch chan<- prometheus.Metric) {
	if c.bytes != nil {
		sent, recv := c.bytes()
		ch <- prometheus.MustNewConstMetric(c.bytesDesc, prometheus.CounterValue, float64(sent), "sent")
		ch <- prometheus.MustNewConstMetric(c.bytesDesc, prometheus.CounterValue, float64(recv), "received")
	}
	if c.members == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ms, err := c.members(ctx)
	if err != nil {
		return
	}
	type stateRegion struct{ state, region string }
	type appState struct{ app, state string }
	members, apps := map[stateRegion]int{}, map[appState]int{}
	for _, mb := range ms.Members {
		members[stateRegion{mb.State, mb.Region}]++
		for _, a := range mb.Apps {
			st := "lagging"
			if a.InSync {
				st = "converged"
			}
			apps[appState{a.App, st}]++
		}
	}
	for k, n := range members {
		ch <- prometheus.MustNewConstMetric(c.memberDesc, prometheus.GaugeValue, float64(n), k.state, k.region)
	}
	for k, n := range apps {
		ch <- prometheus.MustNewConstMetric(c.appDesc, prometheus.GaugeValue, float64(n), k.app, k.state)
	}
}

// registerMetrics adds the node's gauges to the registry /metrics serves.
func (a *Admin) registerMetrics() error {
	if a.cfg.Metrics == nil {
		a.cfg.Metrics = NewMetrics()
	}
	var cs []prometheus.Collector
	if a.cfg.Cache != nil {
		cs = append(cs, cacheCollectors(a.cfg.Cache.Counters())...)
	}
	if a.cfg.Handler != nil {
		cs = append(cs, limiterCollectors(a.cfg.Handler.Limiter())...)
		cs = append(cs, bodyCollectors(a.cfg.Handler)...)
		if hc := a.cfg.Handler.HTTPCache(); hc != nil {
			cs = append(cs, httpCacheCollectors(hc.Stats())...)
		}
	}
	if a.cfg.Certs != nil {
		cs = append(cs, newCertCollector(a.cfg.Certs))
	}
	if f := a.cfg.MeshRefused; f != nil {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edge_gossip_states_refused_total",
			Help: "Gossiped app states refused: unsigned, badly signed, out of the key's scope, or a leaping sequence."},
			func() float64 { return float64(f()) }))
	}
	if f := a.cfg.H1Counts; f != nil {
		cs = append(cs, h1Collectors(f)...)
	}
	if a.cfg.Members != nil || a.cfg.GossipBytes != nil {
		cs = append(cs, newMeshCollector(a.cfg.Members, a.cfg.GossipBytes))
	}
	if err := a.cfg.Metrics.Register(cs...); err != nil {
		return fmt.Errorf("ops: metrics: %w", err)
	}
	return nil
}

// httpCacheCollectors report the origin routes' HTTP cache.
func httpCacheCollectors(s *httpcache.Stats) []prometheus.Collector {
	c := func(name, help string, v func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v()) })
	}
	return []prometheus.Collector{
		c("edge_http_cache_hits_total", "Origin-route requests answered from a fresh cached response.", s.Hits.Load),
		c("edge_http_cache_misses_total", "Origin-route requests fetched from the origin.", s.Misses.Load),
		c("edge_http_cache_stale_total", "Stale responses served while one request revalidated.", s.Stale.Load),
		c("edge_http_cache_stale_if_error_total", "Stale responses served because the origin failed.", s.StaleIfErrored.Load),
		c("edge_http_cache_bypass_total", "Requests passed through uncached (method, Authorization).", s.Bypass.Load),
		c("edge_http_cache_revalidations_total", "Stored responses refreshed by a 304.", s.Revalidated.Load),
		c("edge_http_cache_collapsed_total", "Requests that waited for another's fetch of the same key.", s.Collapsed.Load),
		c("edge_http_cache_stored_total", "Responses stored.", s.Stored.Load),
		c("edge_http_cache_evictions_total", "Responses evicted over a budget.", s.Evicted.Load),
		c("edge_http_cache_purged_total", "Responses purged or marked stale by purges.", s.Purged.Load),
		c("edge_http_cache_origin_errors_total", "Origin fetches that failed.", s.OriginErrors.Load),
		c("edge_http_cache_origin_bytes_total", "Body bytes read from origins.", s.OriginBytes.Load),
		c("edge_http_cache_served_bytes_total", "Body bytes served from the cache.", s.CacheBytes.Load),
		&histogramFunc{desc: prometheus.NewDesc("edge_http_cache_purge_latency_seconds",
			"Time from a purge's issue (a mesh purge: its signature) to its application on this node.", nil, nil), h: &s.PurgeLatency},
	}
}

// histogramFunc reports an httpcache.Histogram as a Prometheus histogram.
type histogramFunc struct {
	desc *prometheus.Desc
	h    *httpcache.Histogram
}

func (f *histogramFunc) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

func (f *histogramFunc) Collect(ch chan<- prometheus.Metric) {
	count, sum, buckets := f.h.Snapshot()
	ch <- prometheus.MustNewConstHistogram(f.desc, count, sum, buckets)
}

// h1Collectors report how much HTTP/1.1 traffic the node's own server
// answered and how many conns it gave to net/http: a rise in the second
// says clients send what the fast path leaves to net/http (bodies,
// HTTP/1.0, unusual heads).
func h1Collectors(counts func() (served, handedOff uint64)) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edge_h1_requests_served_total",
			Help: "HTTP/1.1 requests the node's own server answered (plain GET and HEAD)."},
			func() float64 { s, _ := counts(); return float64(s) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edge_h1_conns_handed_off_total",
			Help: "HTTP/1.1 connections the node's own server handed to Go's net/http, from the first request it does not serve itself."},
			func() float64 { _, h := counts(); return float64(h) }),
	}
}
