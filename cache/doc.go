// Package cache is the node's one bbolt file: content-addressed blobs
// (modules and static files), ahead-of-time compiled artifacts keyed by
// module digest and engine fingerprint, the set of loaded apps (what keeps
// blobs alive), a small namespaced key-value area for other components,
// and counters.
//
// Rules it keeps:
//   - A blob's key is the sha256 of its bytes, computed while it is stored;
//     a blob is visible only once all of it is stored, so a crash never
//     leaves half a blob that can be served.
//   - Large blobs are stored in chunks, each in its own short transaction,
//     and read back one chunk at a time: no transaction is held across
//     network I/O and a 200 MiB file is served with bounded memory.
//   - Bytes handed out are always copies: bbolt's pages are memory-mapped
//     and reused, and Wasmtime must never run code backed by them.
//
// The package knows nothing of HTTP, Wasmtime or gossip.
package cache
