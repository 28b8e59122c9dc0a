package main

import (
	"context"
	"crypto/ed25519"
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

	"github.com/spf13/cobra"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/modules/examples"
	"github.com/edgecdn/edge/ops"
	"github.com/edgecdn/edge/ops/api"
	"github.com/edgecdn/edge/ops/client"
	edgetls "github.com/edgecdn/edge/tls"
)

// shutdownGrace is how long requests in flight get to finish on SIGTERM.
const shutdownGrace = 10 * time.Second

// serveFunc runs a node with its resolved config.
type serveFunc func(ctx context.Context, cfg serveConfig, stdout, stderr io.Writer) error

// serveCmd is `edge serve`, running run. args is the whole command line: a
// --config file is read before the flags are defined, so they bind onto
// the values the file filled and a flag given wins over the file.
func serveCmd(args []string, run serveFunc) *cobra.Command {
	cfg := defaultServeConfig()
	var cfgErr error
	if len(args) > 0 && args[0] == "serve" {
		if path := configFlag(args[1:]); path != "" {
			cfgErr = loadConfigFile(path, &cfg)
		}
	}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a node (with no --app and nothing deployed: the embedded demo site)",
		Long: `Run a node: serve the apps of --app directories and every deployed app
over HTTP/1.1, HTTP/2 and HTTP/3, and the admin API that edge deploy talks to.

With no --app and nothing deployed, the node serves an embedded demo on
every host; the first deploy replaces it.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q (apps are given with --app DIR)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgErr != nil {
				return cfgErr
			}
			if cfg.Token == "" {
				cfg.Token = os.Getenv(client.TokenEnv)
			}
			return run(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	serveFlags(&cfg, cmd.Flags())
	return cmd
}

// runServe starts a node, serves until ctx ends, and stops it.
func runServe(ctx context.Context, cfg serveConfig, stdout, stderr io.Writer) (err error) {
	log, err := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	n := &node{cfg: cfg, log: log, phases: newPhases()}
	if err := n.start(); err != nil {
		return errors.Join(err, n.stops.unwind(context.Background()))
	}
	n.printBanner(stdout)
	<-ctx.Done()
	log.Info("shutting down", "grace", shutdownGrace)
	sctx, cancel := context.WithTimeoutCause(context.Background(), shutdownGrace, fmt.Errorf("shutdown grace of %s elapsed", shutdownGrace))
	defer cancel()
	return n.stops.unwind(sctx)
}

// node is a running `edge serve`: its components, and the stack that
// stops them in reverse.
type node struct {
	cfg    serveConfig
	log    *slog.Logger
	phases *phases
	stops  stack

	engine   *modules.Engine
	store    *cache.Cache
	trusted  []ed25519.PublicKey
	keyNote  string
	router   *edge.Router
	handler  *edge.Handler
	srv      *edge.Server
	admin    *ops.Admin
	mesh     *meshWiring
	deployer *edge.Deployer
	loadOpt  edge.LoadOptions
	demo     bool // serving the embedded demo
}

// start brings the node up: open the engine and the cache, bind every
// listener (a busy port is reported before any module compiles), load
// the apps, then serve and join the mesh.
func (n *node) start() error {
	if err := os.MkdirAll(n.cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
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
	n.engine, err = modules.NewEngineWith(modules.EngineConfig{Log: n.log, PoolSize: poolSize(n.cfg.MaxInFlight)})
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
	scfg := edge.ServerConfig{HTTPAddr: n.cfg.HTTP, HTTPSAddr: n.cfg.HTTPS, Log: n.log}
	if n.cfg.HTTPS != "" {
		ca, err := edgetls.LoadOrCreateDevCA(filepath.Join(n.cfg.Data, "tls"))
		if err != nil {
			return err
		}
		scfg.TLS = ca.TLSConfig()
	}
	n.router = edge.NewRouter()
	n.handler = edge.NewHandler(edge.HandlerConfig{
		Router: n.router, Log: n.log,
		MaxInFlight: n.cfg.MaxInFlight, MaxQueue: n.cfg.MaxQueue, QueueWait: n.cfg.QueueWait,
		AltSvc:    n.altSvc,
		AccessLog: n.cfg.AccessLog,
	})
	n.srv = edge.NewServer(scfg, n.handler)
	if err := n.srv.Listen(); err != nil {
		return err
	}
	n.stops.push("server", n.srv.Shutdown)
	var publish func(*cache.AppState)
	n.mesh, publish = prepareMesh(n.cfg, n.store)
	n.loadOpt = edge.LoadOptions{Loader: edge.NewModuleLoader(n.engine, n.store, n.log), Cache: n.store, ServerSoftware: "edge/" + version}
	n.deployer = edge.NewDeployer(edge.DeployerConfig{
		Cache: n.store, Router: n.router, Load: n.loadOpt, Trusted: n.trusted, Keep: n.cfg.KeepVersions,
		MaxBundle: n.cfg.MaxBundle, URLs: func(a *edge.App) []string { return appURLs(n.srv, a) },
		OnChange: publish, Log: n.log,
	})
	return n.listenAdmin()
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
		MaxBlob: n.cfg.MaxBundle, Members: n.mesh.members, Keyring: n.mesh.keyring, Handler: n.handler, Log: n.log,
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
	if n.admin != nil {
		if err := n.admin.Start(); err != nil {
			return err
		}
	}
	if err := n.mesh.start(n.cfg, n.store, n.engine, n.deployer, n.trusted, n.srv, n.log); err != nil {
		return err
	}
	n.stops.pushClose("mesh", n.mesh.stop)
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

// cacheFile is the node's bbolt file inside the data dir.
const cacheFile = "edge.db"

// loadApps loads every --app directory (base), or, when there are none
// and nothing was deployed either, the embedded demo (fallback). Modules
// and files go through the cache: a restart compiles nothing.
func loadApps(cfg serveConfig, opt edge.LoadOptions, store *cache.Cache) (base, fallback []*edge.App, err error) {
	if len(cfg.Apps) == 0 {
		if edge.DeployedCount(store) > 0 {
			return nil, nil, nil
		}
		app, err := edge.LoadApp(examples.Demo(), api.DemoSource, opt)
		if err != nil {
			return nil, nil, err
		}
		return nil, []*edge.App{app}, nil
	}
	for _, dir := range cfg.Apps {
		app, err := edge.LoadAppDir(dir, opt)
		if err != nil {
			return nil, nil, err
		}
		base = append(base, app)
	}
	return base, nil, nil
}

// appURLs is where an app answers on this node: one URL per host ("*":
// the listener's own address), on plain HTTP when it is on, else HTTPS.
func appURLs(srv *edge.Server, a *edge.App) []string {
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
func appRecords(apps []*edge.App) []cache.AppRecord {
	recs := make([]cache.AppRecord, len(apps))
	for i, a := range apps {
		recs[i] = cache.AppRecord{Name: a.Name, Source: a.Source, Blobs: a.Blobs}
	}
	return recs
}

// printBanner tells a newcomer where to point a browser or curl. Tests read
// the "http:", "https:", "admin:" and "ca:" lines to find the bound ports;
// "ca:" comes last of those.
func (n *node) printBanner(w io.Writer) {
	cfg, srv, admin, apps, meshLine := n.cfg, n.srv, n.admin, n.router.Apps(), n.mesh.bannerLine()
	fmt.Fprintf(w, "edge %s serving %s\n", version, plural(len(apps), "app"))
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
		fmt.Fprintf(w, "deploy: %s\n", n.keyNote)
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
	if n.demo {
		fmt.Fprintln(w, "demo:  the embedded demo answers every host until the first deploy replaces it")
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
