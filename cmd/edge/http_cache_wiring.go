package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/httpcache"
	"github.com/edgecdn/edge/gossip"
	"github.com/edgecdn/edge/ops/api"
)

// httpCacheFlags adds the HTTP cache's budget flags to edge serve.
func httpCacheFlags(fs *pflag.FlagSet, cfg *serveConfig) {
	fs.Int64Var(&cfg.HTTPCacheMemory, "http-cache-memory", cfg.HTTPCacheMemory, "bytes of origin responses kept in memory, least recently used evicted (0: 256 MiB)")
	fs.Int64Var(&cfg.HTTPCacheDisk, "http-cache-disk", cfg.HTTPCacheDisk, "bytes of origin responses kept in the node's store across restarts (0: 4 GiB)")
}

// newHTTPCache builds the shared cache origin routes answer through, its
// disk tier in the node's store. A member of a mesh that was last in sync
// with the mesh's purges longer ago than they are kept (or never) may
// have missed some: what its disk tier holds is revalidated before it is
// served again.
func newHTTPCache(cfg serveConfig, store *cache.Cache, log *slog.Logger) (*httpcache.Cache, error) {
	hc, err := httpcache.New(httpcache.Config{Store: store, MemoryBytes: cfg.HTTPCacheMemory, DiskBytes: cfg.HTTPCacheDisk, Log: log})
	if err != nil || !cfg.meshOn() {
		return hc, err
	}
	if since, missed := gossip.MissedPurges(store, time.Now()); missed {
		requireRevalidation(hc, since, log)
	}
	return hc, nil
}

// requireRevalidation makes the cache revalidate everything it holds
// (httpcache.Cache.RequireRevalidation): purges since may have been missed.
func requireRevalidation(hc *httpcache.Cache, since time.Time, log *slog.Logger) {
	n, err := hc.RequireRevalidation()
	if err != nil {
		log.Error("cannot record that cached responses must be revalidated", "err", err)
	}
	if n > 0 {
		log.Warn("purges may have been missed: every cached response is revalidated with its origin before it is served again",
			"responses", n, "last_in_sync", since)
	}
}

// purgeGap is the mesh's OnPurgeGap: this member was away from the mesh
// longer than purges are kept.
func (w *meshWiring) purgeGap(log *slog.Logger) func(since time.Time) {
	return func(since time.Time) {
		if w.httpCache != nil {
			go requireRevalidation(w.httpCache, since, log)
		}
	}
}

// applyPurge applies a purge another member published (the mesh has
// checked its signature and scope), to app's objects only, in the
// background. A signed purge this node cannot read (a newer node's form,
// say) removes nothing and is logged, so that an operator sees why.
func (w *meshWiring) applyPurge(log *slog.Logger) func(app string, body []byte, issued time.Time) {
	return func(app string, body []byte, issued time.Time) {
		if w.httpCache == nil {
			return
		}
		var req api.PurgeRequest
		if err := json.Unmarshal(body, &req); err != nil {
			log.Warn("a member's signed purge was not applied: its body does not decode", "app", app, "err", err)
			return
		}
		p, err := httpcache.ParsePurge(req.URL, req.Prefix, req.Tag, req.Soft)
		if err != nil {
			log.Warn("a member's signed purge was not applied", "app", app, "err", err)
			return
		}
		p.Only, p.Issued = edge.PurgeScope(w.router, app), issued
		go w.httpCache.Purge(p) // off memberlist's delivery goroutine: a hard purge writes to disk
	}
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
