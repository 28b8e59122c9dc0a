package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/deploy"
	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/modules/examples"
	"github.com/edgecdn/edge/ops"
	edgetls "github.com/edgecdn/edge/tls"
)

// shutdownGrace is how long requests in flight get to finish on SIGTERM.
const shutdownGrace = 10 * time.Second

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServeFlags(args, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	phases := newPhases()
	engine, err := modules.NewEngineWith(modules.EngineConfig{Log: log, PoolSize: poolSize(cfg.MaxInFlight)})
	if err != nil {
		return err
	}
	defer engine.Close()
	phases.mark("engine")
	store, err := cache.Open(filepath.Join(cfg.Data, cacheFile), cache.Options{ArtifactBudget: cfg.ArtifactBudget, Log: log})
	if err != nil {
		return err
	}
	defer store.Close()
	phases.mark("cache")

	trusted, keyNote, err := trustedKeys(cfg)
	if err != nil {
		return err
	}
	loadStart := time.Now()
	opt := app.LoadOptions{Loader: app.NewModuleLoader(engine, store, log), Cache: store, ServerSoftware: "edge/" + version}
	base, fallback, err := loadApps(cfg, opt, store)
	if err != nil {
		return err
	}
	phases.mark("load")
	if err := store.SetApps(appRecords(append(base, fallback...))); err != nil {
		return err
	}
	phases.mark("record")
	router := edge.NewRouter()
	var srv *edge.Server
	mesh, ledger, publish := prepareMesh(cfg)
	deployer := deploy.New(deploy.Config{
		Cache: store, Router: router, Ledger: ledger, Load: opt, Trusted: trusted, Keep: cfg.KeepVersions,
		MaxBundle: cfg.MaxBundle, URLs: func(a *app.App) []string { return appURLs(srv, a) },
		OnChange: publish, Log: log,
	})
	if err := deployer.Start(base, fallback); err != nil {
		return err
	}
	phases.mark("deployed")
	c := store.Counters()
	log.Info("apps loaded", "apps", len(router.Apps()), "duration", time.Since(loadStart),
		"compiled", c.Compiles.Load(), "from_cache", c.Deserializes.Load())
	srv, handler, err := startServer(cfg, router, log)
	if err != nil {
		return err
	}
	if err := mesh.start(cfg, store, engine, deployer, trusted, srv, log); err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}
	admin, err := startAdmin(cfg, store, engine, deployer, mesh, handler, log)
	if err != nil {
		_ = mesh.stop()
		_ = srv.Shutdown(context.Background())
		return err
	}
	phases.mark("listen")
	log.Debug("startup", phases.attrs...)
	printBanner(stdout, cfg, srv, admin, router.Apps(), keyNote, len(fallback) > 0, mesh.bannerLine())
	<-ctx.Done()
	log.Info("shutting down", "grace", shutdownGrace)
	if err := mesh.stop(); err != nil {
		log.Warn("mesh leave", "err", err)
	}
	sctx, cancel := context.WithTimeoutCause(context.Background(), shutdownGrace, fmt.Errorf("shutdown grace of %s elapsed", shutdownGrace))
	defer cancel()
	err = srv.Shutdown(sctx)
	if admin != nil {
		err = errors.Join(err, admin.Shutdown(sctx))
	}
	return err
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

// startAdmin serves the admin API unless disabled. Without a token given,
// one is generated into the data dir, readable only by the node's user.
func startAdmin(cfg serveConfig, store *cache.Cache, engine *modules.Engine, deployer *deploy.Deployer, mesh *meshWiring, handler *edge.Handler, log *slog.Logger) (*ops.Admin, error) {
	if cfg.Admin == "" {
		return nil, nil
	}
	token := cfg.Token
	if token == "" {
		var err error
		if token, _, err = ops.LoadOrCreateToken(cfg.Data); err != nil {
			return nil, err
		}
	}
	admin, err := ops.NewAdmin(ops.AdminConfig{Addr: cfg.Admin, Token: token, Cache: store, Checker: artifactChecker(engine), Deployer: deployer, MaxBlob: cfg.MaxBundle, Members: mesh.members, Keyring: mesh.keyring(), Handler: handler, Log: log})
	if err != nil {
		return nil, err
	}
	return admin, admin.Start()
}

func startServer(cfg serveConfig, router *edge.Router, log *slog.Logger) (*edge.Server, *edge.Handler, error) {
	scfg := edge.ServerConfig{HTTPAddr: cfg.HTTP, HTTPSAddr: cfg.HTTPS, Log: log}
	if cfg.HTTPS != "" {
		ca, err := edgetls.LoadOrCreateDevCA(filepath.Join(cfg.Data, "tls"))
		if err != nil {
			return nil, nil, err
		}
		scfg.TLS = ca.TLSConfig()
	}
	var srv *edge.Server
	handler := edge.NewHandler(edge.HandlerConfig{
		Router: router, Log: log,
		MaxInFlight: cfg.MaxInFlight, MaxQueue: cfg.MaxQueue, QueueWait: cfg.QueueWait,
		AltSvc:    func(h http.Header) { srv.AltSvc(h) },
		AccessLog: cfg.AccessLog, ObjectCache: cfg.ObjectCache,
	})
	srv = edge.NewServer(scfg, handler)
	return srv, handler, srv.Start()
}

// cacheFile is the node's bbolt file inside the data dir.
const cacheFile = "edge.db"

// loadApps loads every --app directory (base), or, when there are none
// and nothing was deployed either, the embedded demo (fallback). Modules
// and files go through the cache: a restart compiles nothing.
func loadApps(cfg serveConfig, opt app.LoadOptions, store *cache.Cache) (base, fallback []*app.App, err error) {
	if len(cfg.Apps) == 0 {
		if deploy.DeployedCount(store) > 0 {
			return nil, nil, nil
		}
		demo, err := app.LoadApp(examples.Demo(), "embedded demo", opt)
		if err != nil {
			return nil, nil, err
		}
		return nil, []*app.App{demo}, nil
	}
	for _, dir := range cfg.Apps {
		a, err := app.LoadAppDir(dir, opt)
		if err != nil {
			return nil, nil, err
		}
		base = append(base, a)
	}
	return base, nil, nil
}

// appURLs is where an app answers on this node: one URL per host ("*":
// the listener's own address), on plain HTTP when it is on, else HTTPS.
func appURLs(srv *edge.Server, a *app.App) []string {
	if srv == nil {
		return nil
	}
	scheme, addr := "http", srv.HTTPAddr()
	if addr == "" {
		scheme, addr = "https", srv.HTTPSAddr()
	}
	bindHost, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	var urls []string
	for _, h := range a.Hosts {
		if h == "*" {
			h = bindHost
		}
		urls = append(urls, scheme+"://"+net.JoinHostPort(h, port)+"/")
	}
	return urls
}

// appRecords tells the cache which blobs the loaded apps keep alive.
func appRecords(apps []*app.App) []cache.AppRecord {
	recs := make([]cache.AppRecord, len(apps))
	for i, a := range apps {
		recs[i] = cache.AppRecord{Name: a.Name, Source: a.Source, Blobs: a.Blobs}
	}
	return recs
}

// printBanner tells a newcomer where to point a browser or curl. Tests read
// the "http:", "https:", "admin:" and "ca:" lines to find the bound ports;
// "ca:" comes last of those.
func printBanner(w io.Writer, cfg serveConfig, srv *edge.Server, admin *ops.Admin, apps []*app.App, keyNote string, demo bool, meshLine string) {
	fmt.Fprintf(w, "edge %s serving %d app(s)\n", version, len(apps))
	for _, a := range apps {
		fmt.Fprintf(w, "  app %s (%s): hosts %s, %d routes\n", a.Name, a.Source, strings.Join(a.Hosts, " "), len(a.Routes))
	}
	if addr := srv.HTTPAddr(); addr != "" {
		fmt.Fprintf(w, "http:  http://%s/\n", addr)
	}
	if admin != nil {
		note := "token from --token or $EDGE_TOKEN"
		if cfg.Token == "" {
			note = "token in " + filepath.Join(cfg.Data, ops.TokenFile)
		}
		fmt.Fprintf(w, "admin: http://%s/ (%s)\n", admin.Addr(), note)
		fmt.Fprintf(w, "deploy: %s\n", keyNote)
	}
	if meshLine != "" {
		fmt.Fprintln(w, meshLine)
	}
	addr := srv.HTTPSAddr()
	if addr == "" {
		fmt.Fprintln(w, "ca:    none (https disabled)")
		return
	}
	ca := filepath.Join(cfg.Data, "tls", "ca.pem")
	if abs, err := filepath.Abs(ca); err == nil {
		ca = abs
	}
	fmt.Fprintf(w, "https: https://%s/ (HTTP/1.1 and HTTP/2 on TCP, HTTP/3 on UDP)\n", addr)
	fmt.Fprintf(w, "ca:    %s\n", ca)
	if demo {
		fmt.Fprintf(w, "try:   curl --cacert %s 'https://%s/api/hello?name=edge'\n", ca, addr)
	}
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}
