// Package httpcache is the node's shared HTTP cache (RFC 9111, with the
// stale-while-revalidate and stale-if-error extensions of RFC 5861) for
// responses fetched from origins.
//
// Every stored response has its metadata in memory. Bodies live in two
// tiers: a bounded memory tier for small, hot objects, and a bounded disk
// tier in the node's bbolt store (a blob held per response, metadata in a
// KV namespace) that survives a restart. Both are LRU. No bbolt
// transaction is ever open across network I/O: bodies are fetched first,
// then stored.
//
// Concurrent misses for one key share a single origin fetch (collapse.go),
// and purges by URL, prefix or surrogate key are hard (gone, even the stale
// copy) or soft (stale, revalidated by one request while the rest are
// served the stale copy).
package httpcache
