package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/deploy"
	"github.com/edgecdn/edge/gossip/state"
	"github.com/edgecdn/edge/gossip/trust"
	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/ops"
	edgetls "github.com/edgecdn/edge/tls"
)

// node is a running `edge serve`: its components, and the stack that
// stops them in reverse.
type node struct {
	cfg    serveConfig
	log    *slog.Logger
	level  *slog.LevelVar // SIGHUP sets it
	phases *phases
	stops  stack

	engine   *modules.Engine
	store    *cache.Cache
	trusted  trust.Keyring
	keyNote  string
	router   *edge.Router
	handler  *edge.Handler
	srv      *edge.Server
	certs    *edgetls.Manager // nil without HTTPS
	admin    *ops.Admin
	metrics  *ops.Metrics
	ready    *ops.Readiness
	mesh     *meshWiring
	deployer *deploy.Deployer
	loadOpt  app.LoadOptions
	demo     bool // serving the embedded demo
}

// start brings the node up: open the engine and the cache, bind every
// listener (a busy port is reported before any module compiles), load
// the apps, then serve and join the mesh.
func (n *node) start() error {
	if err := os.MkdirAll(n.cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	stopFloor := startGCFloor(gcFloor)
	n.stops.push("gc floor", func(context.Context) error { stopFloor(); return nil })
	for _, step := range []struct {
		name string
		fn   func() error
	}{
		{"engine", n.openEngine}, {"cache", n.openCache}, {"listen", n.listen},
		{"load", n.load}, {"serve", n.serve},
	} {
		if err := step.fn(); err != nil {
			return err
		}
		n.phases.mark(step.name)
	}
	n.log.Debug("startup", n.phases.attrs...)
	return nil
}

func (n *node) openEngine() (err error) {
	if err := checkSlotReset(n.cfg.SlotReset); err != nil {
		return err
	}
	n.engine, err = modules.NewEngineWith(modules.EngineConfig{Log: n.log, PoolSize: poolSize(n.cfg.MaxInFlight), MaxOutput: n.cfg.MaxOutput,
		FullSlotReset: n.cfg.SlotReset == slotResetFull})
	if err == nil {
		n.stops.push("engine", func(context.Context) error { n.engine.Close(); return nil })
	}
	return err
}

func (n *node) openCache() (err error) {
	n.store, err = cache.Open(filepath.Join(n.cfg.Data, cacheFile), cache.Options{ArtifactBudget: n.cfg.ArtifactBudget, Log: n.log})
	if err != nil {
		return err
	}
	n.stops.pushClose("cache", n.store.Close)
	n.trusted, n.keyNote, err = trustedKeys(n.cfg)
	return err
}

// listen builds the request path around an empty router and binds the
// user and admin listeners; nothing is served yet.
func (n *node) listen() error {
	scfg := edge.ServerConfig{HTTPAddr: n.cfg.HTTP, HTTPSAddr: n.cfg.HTTPS, H2: n.cfg.H2Server, H1: n.cfg.H1Server, Log: n.log}
	n.router, n.metrics = edge.NewRouter(), ops.NewMetrics()
	if n.cfg.HTTPS != "" {
		var err error
		if n.certs, err = newCertManager(n.cfg, n.store, n.router, n.log); err != nil {
			return err
		}
		n.stops.push("certificates", func(context.Context) error { n.certs.Stop(); return nil })
		useCertManager(&scfg, n.certs)
	}
	n.requireReadiness()
	hc, err := newHTTPCache(n.cfg, n.store, n.log)
	if err != nil {
		return err
	}
	n.stops.push("http cache", func(context.Context) error { hc.Close(); return nil }) // disk writes end before the store closes
	n.handler = edge.NewHandler(edge.HandlerConfig{
		Router: n.router, Log: n.log,
		MaxInFlight: n.cfg.MaxInFlight, MaxQueue: n.cfg.MaxQueue, QueueWait: n.cfg.QueueWait,
		MaxBodyMemory: n.cfg.MaxBodyMemory, AppShare: n.cfg.AppShare, ObjectCache: n.cfg.ObjectCache,
		AltSvc:    n.altSvc,
		AccessLog: n.cfg.AccessLog, Observer: n.metrics, HTTPCache: hc,
	})
	n.srv = edge.NewServer(scfg, n.handler)
	if err := n.srv.Listen(); err != nil {
		return err
	}
	n.stops.push("server", n.stopServer)
	var publish func(*state.AppState)
	var ledger *state.Ledger
	n.mesh, ledger, publish = prepareMesh(n.cfg)
	n.mesh.httpCache, n.mesh.router = hc, n.router
	shareCerts(n.mesh, n.certs)
	loader := app.NewModuleLoader(n.engine, n.store, n.log)
	n.mesh.shareArtifacts(n.cfg, loader)
	n.loadOpt = app.LoadOptions{Loader: loader, Cache: n.store, ServerSoftware: "edge/" + version}
	n.deployer = deploy.New(deploy.Config{
		Cache: n.store, Router: n.router, Ledger: ledger, Load: n.loadOpt, Trusted: n.trusted, Keep: n.cfg.KeepVersions,
		MaxBundle: n.cfg.MaxBundle, URLs: func(a *app.App) []string { return appURLs(n.srv, a) },
		OnChange: publish, Log: n.log,
	})
	return n.listenAdmin()
}

// certList is what edge certs shows (nil without HTTPS).
func (n *node) certList() []edgetls.CertInfo {
	if n.certs == nil {
		return nil
	}
	return n.certs.Certs()
}

// altSvc advertises HTTP/3 on TLS responses (n.srv exists before any
// request is served).
func (n *node) altSvc(h http.Header) { n.srv.AltSvc(h) }

// listenAdmin binds the admin API unless disabled. Without a token given,
// one is generated into the data dir, readable only by the node's user.
func (n *node) listenAdmin() error {
	if n.cfg.Admin == "" {
		return nil
	}
	token := n.cfg.Token
	if token == "" {
		var err error
		if token, _, err = ops.LoadOrCreateToken(n.cfg.Data); err != nil {
			return err
		}
	}
	admin, err := ops.NewAdmin(ops.AdminConfig{
		Addr: n.cfg.Admin, Token: token, Cache: n.store, Checker: artifactChecker(n.engine), Deployer: n.deployer,
		MaxBlob: n.cfg.MaxBundle, Members: n.mesh.members, Keyring: n.mesh.keyring, MeshRefused: n.mesh.refused, Handler: n.handler, Log: n.log,
		Name: nodeName(n.cfg), Metrics: n.metrics, Ready: n.ready, GossipBytes: n.mesh.gossipBytes, H1Counts: n.srv.H1Counts,
		Certs: n.certList, MeshPurge: n.mesh.purger(n.cfg), MemberCerts: n.mesh.memberCerts, Trusted: n.trusted,
	})
	if err != nil {
		return err
	}
	if err := admin.Listen(); err != nil {
		return err
	}
	n.admin = admin
	n.stops.push("admin", admin.Shutdown)
	return nil
}

// load loads the --app directories (or the demo) and every deployed app:
// modules compile here, or come from the cache.
func (n *node) load() error {
	start := time.Now()
	base, fallback, err := loadApps(n.cfg, n.loadOpt, n.store)
	if err != nil {
		return err
	}
	if err := n.store.SetApps(appRecords(append(base, fallback...))); err != nil {
		return err
	}
	if err := n.deployer.Start(base, fallback); err != nil {
		return err
	}
	n.demo = len(fallback) > 0
	n.ready.Done("apps")
	c := n.store.Counters()
	n.log.Info("apps loaded", "apps", len(n.router.Apps()), "duration", time.Since(start),
		"compiled", c.Compiles.Load(), "from_cache", c.Deserializes.Load())
	return nil
}

// serve starts serving on the bound listeners, then joins the mesh.
func (n *node) serve() error {
	if err := n.srv.Start(); err != nil {
		return err
	}
	if n.certs != nil {
		if err := startCertManager(n.certs, n.srv); err != nil {
			return err
		}
	}
	n.ready.Done("listeners")
	if n.admin != nil {
		if err := n.admin.Start(); err != nil {
			return err
		}
	}
	if err := n.mesh.start(n.cfg, n.store, n.engine, n.deployer, n.trusted, n.srv, n.log); err != nil {
		return err
	}
	n.stops.pushClose("mesh", n.mesh.stop)
	useMeshCerts(n.certs, n.mesh)
	n.ready.Done("mesh")
	return nil
}

// poolSize gives the engine's instance pool room for every guest the
// handler lets run at once, with a margin.
func poolSize(maxInFlight int) int {
	if maxInFlight <= 0 {
		maxInFlight = edge.DefaultMaxInFlight
	}
	return max(modules.DefaultPoolSize, 2*maxInFlight)
}

// phases times the steps of a start, for the debug log: where a slow
// start spends its time.
type phases struct {
	last  time.Time
	attrs []any
}

func newPhases() *phases { return &phases{last: time.Now()} }

func (p *phases) mark(name string) {
	now := time.Now()
	p.attrs = append(p.attrs, name, now.Sub(p.last))
	p.last = now
}
