// Package ops is the node's operator surface on the admin listener: the
// admin API (token authenticated, loopback by default), Prometheus metrics
// (client_golang; Metrics is the edge.Observer the handler reports to),
// /healthz and /readyz (no token), pprof, and the live dashboard. Only
// Metrics' Observer methods run on the request path: pre-resolved series
// per route, no allocation.
package ops
