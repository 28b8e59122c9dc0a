package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/ops/client"
)

// cacheCmd is `edge cache stats|verify|gc`. Each opens the data dir's
// cache file directly when the node is stopped, and asks the running
// node's admin API when the node holds the file.
func cacheCmd() *cobra.Command {
	cmd := groupCmd("cache", "Inspect the node's cache: stats, verify, gc")
	for _, op := range []struct{ name, short string }{
		{"stats", "Show what the cache holds and its hit counters"},
		{"verify", "Check every blob and artifact against its digest (exit 1 on damage)"},
		{"gc", "Remove blobs no app version names, and orphaned upload chunks"},
	} {
		var cf clientFlags
		sub := &cobra.Command{
			Use:   op.name,
			Short: op.short,
			Args:  exactArgs(),
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runCache(cmd, op.name, &cf)
			},
		}
		cf.register(sub)
		cmd.AddCommand(sub)
	}
	return cmd
}

func runCache(cmd *cobra.Command, op string, cf *clientFlags) error {
	c, err := cf.client() // resolves --data from the config file too
	if err != nil {
		return err
	}
	report, err := cacheLocal(op, filepath.Join(cf.data, cacheFile))
	if errors.Is(err, cache.ErrLocked) {
		report, err = cacheRemote(cmd.Context(), op, c)
	}
	if err != nil {
		return err
	}
	return printCacheReport(cmd.OutOrStdout(), report, cf.json)
}

// cacheLocal runs op on the file itself. A missing file is an error, not
// an empty cache created by accident.
func cacheLocal(op, path string) (any, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no cache at %s: give the node's data directory with --data", path)
	}
	c, err := cache.Open(path, cache.Options{LockTimeout: 200 * time.Millisecond, Log: discardLog()})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	switch op {
	case "stats":
		return c.Stats()
	case "verify":
		engine, err := modules.NewEngine(discardLog())
		if err != nil {
			return nil, err
		}
		defer engine.Close()
		return c.Verify(artifactChecker(engine))
	default:
		return c.GC()
	}
}

// cacheRemote asks the running node, which holds the file.
func cacheRemote(ctx context.Context, op string, c *client.Client) (any, error) {
	var report any
	var err error
	switch op {
	case "stats":
		report, err = c.CacheStats(ctx)
	case "verify":
		report, err = c.VerifyCache(ctx)
	default:
		report, err = c.GCCache(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("the cache file is in use by a running node, and asking it failed: %w", err)
	}
	return report, nil
}

// artifactChecker test-loads artifacts with this host's engine.
func artifactChecker(engine *modules.Engine) *cache.ArtifactChecker {
	return &cache.ArtifactChecker{
		Fingerprint: engine.Fingerprint(),
		Load: func(data []byte) error {
			m, err := engine.Deserialize("verify", data)
			if err == nil {
				m.Close()
			}
			return err
		},
	}
}

func printCacheReport(w io.Writer, report any, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	}
	switch r := report.(type) {
	case *cache.Stats:
		if !asJSON {
			fmt.Fprintf(w, "file       %s (%s)\napps       %d\nblobs      %d (%s)\nartifacts  %d (%s of %s budget)\nhits       %d\nmisses     %d\n",
				r.File, size(r.FileBytes), r.Apps, r.Blobs, size(r.BlobBytes), r.Artifacts, size(r.ArtifactBytes), size(r.ArtifactBudget), r.ArtifactHits, r.ArtifactMisses)
		}
	case *cache.VerifyReport:
		if !asJSON {
			fmt.Fprintf(w, "blobs      %d checked, %d bad\nartifacts  %d checked, %d bad, %d for other engines\norphans    %d chunks of interrupted uploads (gc removes them)\n",
				r.Blobs, len(r.BlobsBad), r.Artifacts, len(r.ArtifactsBad), r.ArtifactsOther, r.OrphanChunks)
			for _, p := range append(append(r.Structure, r.BlobsBad...), r.ArtifactsBad...) {
				fmt.Fprintf(w, "  BAD %s\n", p)
			}
		}
		if !r.Clean() {
			return fmt.Errorf("verify found problems")
		}
		if !asJSON {
			fmt.Fprintln(w, "clean")
		}
	case *cache.GCReport:
		if !asJSON {
			fmt.Fprintf(w, "removed %d blobs (%s), %d artifacts, %d orphan chunks\n", r.Blobs, size(r.BlobBytes), r.Artifacts, r.OrphanChunks)
		}
	}
	return nil
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// size prints bytes for humans.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
