package ops

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the node's Prometheus registry and the edge.Observer that
// feeds it. Build one with NewMetrics, hand it to edge.HandlerConfig as
// Observer and to AdminConfig as Metrics; GET /metrics serves it in
// whichever exposition format Prometheus negotiates.
type Metrics struct {
	reg *prometheus.Registry

	requests    *prometheus.CounterVec   // app, route, class, proto
	latency     *prometheus.HistogramVec // app, kind
	staticBytes *prometheus.CounterVec   // app
	guestRuns   *prometheus.HistogramVec // executor
	guestInits  *prometheus.HistogramVec // executor
	guestFails  *prometheus.CounterVec   // app, kind
	queueWait   prometheus.Histogram
	overloaded  prometheus.Counter

	// routes holds each configured route's pre-resolved series, so a
	// request costs one lookup and no label hashing. Its keys are the
	// configured names, bounded like the series themselves.
	routes sync.Map // routeKey → *routeSeries
	// runs and inits hold the guest histograms' children, one per executor.
	runs, inits map[string]prometheus.Observer
}

// latencyBuckets span a cached static hit (tens of µs) to a guest at its
// deadline (seconds).
var latencyBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics registers the request, guest and queue series, and the Go
// and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edge_requests_total", Help: "Requests answered, by app, configured route, status class and protocol.",
	}, []string{"app", "route", "class", "proto"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "edge_request_duration_seconds", Help: "Time to answer a request, by app and kind (static, dynamic, none).",
		Buckets: latencyBuckets,
	}, []string{"app", "kind"})
	m.staticBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edge_static_bytes_total", Help: "Body bytes of static files served, by app.",
	}, []string{"app"})
	m.guestRuns = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "edge_guest_run_seconds", Help: "Guest code run time, from a ready instance to its response, by executor.",
		Buckets: latencyBuckets,
	}, []string{"executor"})
	m.guestInits = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "edge_guest_instantiate_seconds", Help: "Time to a fresh store and a ready instance before a guest runs, by executor.",
		Buckets: latencyBuckets,
	}, []string{"executor"})
	m.guestFails = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edge_guest_failures_total", Help: "Guest runs that failed, by app and kind (trap, deadline, output_too_large, bad_response).",
	}, []string{"app", "kind"})
	m.queueWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "edge_queue_wait_seconds", Help: "Time dynamic requests waited for a guest slot.", Buckets: latencyBuckets,
	})
	m.overloaded = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edge_overloaded_total", Help: "Requests refused with 503 after waiting for a guest slot.",
	})
	m.runs, m.inits = map[string]prometheus.Observer{}, map[string]prometheus.Observer{}
	for _, ex := range []string{"wagi", "edge"} {
		m.runs[ex] = m.guestRuns.WithLabelValues(ex)
		m.inits[ex] = m.guestInits.WithLabelValues(ex)
	}
	m.reg.MustRegister(m.requests, m.latency, m.staticBytes, m.guestRuns, m.guestInits, m.guestFails, m.queueWait, m.overloaded,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Register adds collectors (the node's cache, limiter and mesh gauges).
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves the registry (text or protobuf, as negotiated).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Gatherer is the registry, for tests and the dashboard.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }
