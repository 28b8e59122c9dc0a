// Package edge is the node's request path: the listeners (TCP+TLS for
// HTTP/1.1 and HTTP/2, QUIC for HTTP/3, plain HTTP), the Router that maps
// a request's Host and path to one route of one app, static responses,
// dynamic routes handed to package modules (one fresh store per request),
// overload control and the access log.
//
// Apps are loaded by package edge/app and activated by edge/deploy; the
// Router swaps whole routing tables atomically, so a request always sees
// one consistent set of apps.
package edge
