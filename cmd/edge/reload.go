package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/edgecdn/edge/edge/app"
)

// waitSignals serves until ctx ends (SIGTERM, SIGINT), reloading on
// each SIGHUP meanwhile.
func (n *node) waitSignals(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			n.reload()
		}
	}
}

// reload applies what can change without a restart: the config file's
// log_level (unless --log-level was given), the --trust-key files, and
// the apps of the --app directories, read again from disk. What it could not reload is logged
// and the node carries on as it was.
func (n *node) reload() {
	start := time.Now()
	var done []any
	if lv, ok, err := n.reloadLevel(); err != nil {
		n.log.Error("reload: log level", "err", err)
	} else if ok {
		done = append(done, "log_level", lv.String())
	}
	if keys, ok, err := n.reloadTrust(); err != nil {
		n.log.Error("reload: trusted keys kept as they were", "err", err)
	} else if ok {
		done = append(done, "trust_keys", keys)
	}
	if len(n.cfg.Apps) > 0 {
		if err := n.reloadApps(); err != nil {
			n.log.Error("reload: apps kept as they were", "err", err)
		} else {
			done = append(done, "apps", len(n.cfg.Apps))
		}
	}
	n.log.Info("reloaded", append(done, "duration", time.Since(start).Round(time.Millisecond))...)
}

// reloadLevel re-reads log_level from the config file.
func (n *node) reloadLevel() (slog.Level, bool, error) {
	if n.cfg.configPath == "" || n.cfg.levelFlag || n.level == nil {
		return 0, false, nil
	}
	fresh := defaultServeConfig()
	if err := loadConfigFile(n.cfg.configPath, &fresh); err != nil {
		return 0, false, err
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(fresh.LogLevel)); err != nil {
		return 0, false, fmt.Errorf("log_level %q: use debug, info, warn or error", fresh.LogLevel)
	}
	n.level.Set(lv)
	return lv, true, nil
}

// reloadApps loads every --app directory again and swaps them in at
// once; one that fails to load leaves all of them as they were.
func (n *node) reloadApps() error {
	var base []*app.App
	for _, dir := range n.cfg.Apps {
		a, err := app.LoadAppDir(dir, n.loadOpt)
		if err != nil {
			return err
		}
		base = append(base, a)
	}
	if err := n.deployer.SetBase(base); err != nil {
		return err
	}
	return n.store.SetApps(appRecords(base))
}
