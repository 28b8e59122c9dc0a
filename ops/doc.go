// Package ops is the node's operator surface: the admin API (token
// authenticated, loopback by default) and, as they arrive, metrics, health
// and the dashboard. Nothing here sits on the request path.
package ops
