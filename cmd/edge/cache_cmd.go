package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/ops"
)

// runCache is `edge cache stats|verify|gc`. It opens the data dir's cache
// file directly when the node is stopped, and asks the running node's
// admin API when the node holds the file.
func runCache(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "stats" && args[0] != "verify" && args[0] != "gc") {
		fmt.Fprintln(stderr, "usage: edge cache stats|verify|gc [--data DIR] [--admin ADDR] [--token T] [--json]")
		return errUsage
	}
	op := args[0]
	fs := flag.NewFlagSet("edge cache "+op, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./edge-data", "the node's data directory")
	admin := fs.String("admin", "127.0.0.1:9090", "the running node's admin address, used when it holds the cache file")
	token := fs.String("token", "", "admin token (default: $EDGE_TOKEN, else DATA/admin.token)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	report, err := cacheLocal(op, filepath.Join(*data, cacheFile))
	if errors.Is(err, cache.ErrLocked) {
		report, err = cacheRemote(ctx, op, *admin, adminToken(*token, *data))
	}
	if err != nil {
		return err
	}
	return printCacheReport(stdout, op, report, *asJSON)
}

// cacheLocal runs op on the file itself. A missing file is an error, not
// an empty cache created by accident.
func cacheLocal(op, path string) (any, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no cache at %s (is --data right?): %w", path, err)
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

// cacheRemote asks the running node.
func cacheRemote(ctx context.Context, op, addr, token string) (any, error) {
	method, out := http.MethodPost, any(nil)
	switch op {
	case "stats":
		method, out = http.MethodGet, &cache.Stats{}
	case "verify":
		out = &cache.VerifyReport{}
	default:
		out = &cache.GCReport{}
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+"/v1/cache/"+op, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the cache file is in use, and the node's admin API at %s does not answer: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var apiErr ops.APIError
		_ = json.NewDecoder(resp.Body).Decode(&apiErr)
		return nil, fmt.Errorf("admin API %s: %s", resp.Status, apiErr.Error)
	}
	return out, json.NewDecoder(resp.Body).Decode(out)
}

// adminToken picks the token: the flag, then $EDGE_TOKEN, then the file a
// node generated in its data dir.
func adminToken(flagValue, dataDir string) string {
	if flagValue != "" {
		return flagValue
	}
	if env := os.Getenv("EDGE_TOKEN"); env != "" {
		return env
	}
	tok, _ := ops.ReadToken(filepath.Join(dataDir, ops.TokenFile))
	return tok
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

func printCacheReport(w io.Writer, op string, report any, asJSON bool) error {
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
