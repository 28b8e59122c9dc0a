package ops

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
)

// none labels a request no app or no route took.
const none = "(none)"

// Label values, indexed by classIndex and protoIndex.
var (
	classNames = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}
	protoNames = [...]string{"h1", "h2", "h3", "other"}
)

// routeKey names a configured route: the app and the pattern from its
// edge.toml, never the request's path.
type routeKey struct{ app, route string }

// routeSeries are one route's children of every vector, resolved once:
// a request then only increments.
type routeSeries struct {
	m       *Metrics
	key     routeKey
	static  bool
	latency prometheus.Observer
	bytes   prometheus.Counter
	run     prometheus.Observer // nil for static routes
	init    prometheus.Observer // nil for static routes
	// counts are resolved on first use: a route that never answers 1xx
	// over h3 has no such series.
	counts [len(classNames)][len(protoNames)]atomic.Pointer[counterBox]
}

type counterBox struct{ c prometheus.Counter }

func (s *routeSeries) counter(class, proto int) prometheus.Counter {
	p := &s.counts[class][proto]
	if b := p.Load(); b != nil {
		return b.c
	}
	// Racing first requests resolve the same child: the vector dedups.
	c := s.m.requests.WithLabelValues(s.key.app, s.key.route, classNames[class], protoNames[proto])
	p.Store(&counterBox{c})
	return c
}

// series returns the route's series, resolving them the first time.
func (m *Metrics) series(appName string, rt *app.Route) *routeSeries {
	k := routeKey{appName, none}
	if rt != nil {
		k.route = rt.Pattern
	}
	if s, ok := m.routes.Load(k); ok {
		return s.(*routeSeries)
	}
	s := &routeSeries{m: m, key: k}
	kind := "none"
	switch {
	case rt != nil && rt.Dynamic():
		kind = "dynamic"
		if s.run = m.runs[rt.Executor]; s.run == nil {
			s.run = m.guestRuns.WithLabelValues(rt.Executor)
		}
		if s.init = m.inits[rt.Executor]; s.init == nil {
			s.init = m.guestInits.WithLabelValues(rt.Executor)
		}
	case rt != nil:
		kind, s.static = "static", true
		s.bytes = m.staticBytes.WithLabelValues(appName)
	}
	s.latency = m.latency.WithLabelValues(appName, kind)
	actual, _ := m.routes.LoadOrStore(k, s)
	return actual.(*routeSeries)
}

// Request counts one answered request (edge.Observer).
func (m *Metrics) Request(d edge.RequestDone) {
	name := none
	if d.App != nil {
		name = d.App.Name
	}
	s := m.series(name, d.Route)
	s.counter(classIndex(d.Status), protoIndex(d.Proto)).Inc()
	s.latency.Observe(d.Duration.Seconds())
	if s.static {
		s.bytes.Add(float64(d.Bytes))
	}
}

// Guest times one guest run, its instantiation and its code apart, and
// counts its failure (edge.Observer).
func (m *Metrics) Guest(g edge.GuestDone) {
	s := m.series(g.App, g.Route)
	if s.run != nil {
		s.init.Observe(g.Instantiate.Seconds())
		s.run.Observe((g.Duration - g.Instantiate).Seconds())
	}
	if g.Err != nil {
		m.guestFails.WithLabelValues(g.App, edge.FailureKind(g.Err)).Inc() // rare: resolved here
	}
}

// Queue times the wait for a guest slot and counts refusals (edge.Observer).
func (m *Metrics) Queue(wait time.Duration, err error) {
	m.queueWait.Observe(wait.Seconds())
	if errors.Is(err, edge.ErrOverloaded) {
		m.overloaded.Inc()
	}
}

func classIndex(status int) int {
	if c := status/100 - 1; c >= 0 && c < len(classNames)-1 {
		return c
	}
	return len(classNames) - 1
}

func protoIndex(major int) int {
	if major >= 1 && major <= 3 {
		return major - 1
	}
	return len(protoNames) - 1
}

var _ edge.Observer = (*Metrics)(nil)
