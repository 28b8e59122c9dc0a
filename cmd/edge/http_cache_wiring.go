package main

import (
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/httpcache"
	"github.com/edgecdn/edge/ops/api"
)

// httpCacheFlags adds the HTTP cache's budget flags to edge serve.
func httpCacheFlags(fs *pflag.FlagSet, cfg *serveConfig) {
	fs.Int64Var(&cfg.HTTPCacheMemory, "http-cache-memory", cfg.HTTPCacheMemory, "bytes of origin responses kept in memory, least recently used evicted (0: 256 MiB)")
	fs.Int64Var(&cfg.HTTPCacheDisk, "http-cache-disk", cfg.HTTPCacheDisk, "bytes of origin responses kept in the node's store across restarts (0: 4 GiB)")
}

// newHTTPCache builds the shared cache origin routes answer through, its
// disk tier in the node's store.
func newHTTPCache(cfg serveConfig, store *cache.Cache, log *slog.Logger) (*httpcache.Cache, error) {
	return httpcache.New(httpcache.Config{Store: store, MemoryBytes: cfg.HTTPCacheMemory, DiskBytes: cfg.HTTPCacheDisk, Log: log})
}

// applyPurge applies a purge another member published (the mesh has
// checked its signature and scope), to app's objects only, in the
// background.
func (w *meshWiring) applyPurge(app string, body []byte) {
	if w.httpCache == nil {
		return
	}
	var req api.PurgeRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return // not a purge this node understands: nothing to remove
	}
	p, err := httpcache.ParsePurge(req.URL, req.Prefix, req.Tag, req.Soft)
	if err != nil {
		return
	}
	p.Only = edge.PurgeScope(w.router, app)
	go w.httpCache.Purge(p) // off memberlist's delivery goroutine: a hard purge writes to disk
}

// purger is the admin API's way to send a signed purge to the mesh (nil:
// not in a mesh). The mesh is joined after the API is bound, hence a
// closure.
func (w *meshWiring) purger(cfg serveConfig) func(*api.PurgeStatement) (int, error) {
	if !cfg.meshOn() {
		return nil
	}
	return func(st *api.PurgeStatement) (int, error) {
		if w.mesh == nil {
			return 0, errors.New("the node has not joined its mesh yet")
		}
		return w.mesh.PublishPurge(st)
	}
}
