package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/deploy"
	"github.com/edgecdn/edge/modules/examples"
	"github.com/edgecdn/edge/ops"
	"github.com/edgecdn/edge/ops/api"
	"github.com/edgecdn/edge/ops/client"
)

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
			cfg.configPath = path
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
			cfg.levelFlag = cmd.Flags().Changed("log-level")
			return run(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	serveFlags(&cfg, cmd.Flags())
	return cmd
}

// runServe starts a node, serves until ctx ends, and stops it.
func runServe(ctx context.Context, cfg serveConfig, stdout, stderr io.Writer) (err error) {
	level := new(slog.LevelVar)
	log, err := newLogger(stderr, cfg.LogLevel, cfg.LogFormat, level)
	if err != nil {
		return err
	}
	n := &node{cfg: cfg, log: log, level: level, phases: newPhases()}
	if err := n.start(); err != nil {
		return errors.Join(startHint(err), n.stops.unwind(context.Background()))
	}
	n.printBanner(stdout)
	n.waitSignals(ctx)
	n.drain()
	sctx, cancel := context.WithTimeout(context.Background(), stopGrace)
	defer cancel()
	return n.stops.unwind(sctx)
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
		demo, err := app.LoadApp(examples.Demo(), api.DemoSource, opt)
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
	printCertLines(w, n.certs)
	if n.demo {
		fmt.Fprintln(w, "demo:  the embedded demo answers every host until the first deploy replaces it")
		fmt.Fprintf(w, "try:   curl --cacert %s 'https://%s/api/hello?name=edge'\n", ca, addr)
	}
}

// newLogger logs at level, held in lv so that SIGHUP can change it.
func newLogger(w io.Writer, level, format string, lv *slog.LevelVar) (*slog.Logger, error) {
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
