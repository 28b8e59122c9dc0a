// Package modules runs WebAssembly guests for the node: it owns the Wasmtime
// engine, validates and compiles modules, and runs each request in a fresh
// store with its own limits.
//
// Why a fresh store per request: nothing a guest does (globals, memory, a
// trap half-way through) can be seen by the next request, so a bug or an
// attack in one request stays in that request. The cost is paid once per
// request, which is why compilation happens once per module and is shared.
//
// The package knows nothing of HTTP servers or gossip. Executors turn a
// request description into guest inputs and guest output into a Response;
// the caller maps the sentinel errors below onto HTTP statuses.
package modules
