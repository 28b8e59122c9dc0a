// Package edge is the node's request path: it loads apps (a manifest,
// static files and WebAssembly modules), routes each request by Host and
// path to one route of one app, answers static routes from memory and hands
// dynamic routes to package modules, one fresh store per request.
//
// Apps are immutable once loaded. The Router swaps whole routing tables
// atomically, so a request always sees one consistent set of apps.
package edge
