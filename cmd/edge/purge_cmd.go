package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/edgecdn/edge/ops"
)

// runPurge is `edge purge URL`, `edge purge --prefix URL` or
// `edge purge --tag KEY`, each with an optional --soft: cached origin
// responses removed (or marked stale) through the node's admin API.
func runPurge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var req ops.PurgeRequest
	nargs := 1
	for _, a := range args {
		name := strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")
		if strings.HasPrefix(a, "-") && (name == "prefix" || name == "tag") {
			nargs = 0
		}
	}
	c, rest, asJSON, err := clientCommand("purge", "URL | --prefix URL | --tag KEY [--soft]", args, stderr, nargs, func(fs *flag.FlagSet) {
		fs.StringVar(&req.Prefix, "prefix", "", "purge every cached URL that starts with this one")
		fs.StringVar(&req.Tag, "tag", "", "purge every response whose Surrogate-Key lists this key")
		fs.BoolVar(&req.Soft, "soft", false, "mark stale instead of removing: served while one request revalidates")
	})
	if err != nil {
		return err
	}
	if len(rest) == 1 {
		req.URL = rest[0]
	}
	var res ops.PurgeResponse
	if err := c.call(ctx, http.MethodPost, "/v1/purge", req, &res); err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, res)
	}
	kind := "purged"
	if req.Soft {
		kind = "marked stale"
	}
	_, err = fmt.Fprintf(stdout, "%s %d cached responses on %d node(s) in %.3fs\n", kind, res.Purged, res.Nodes, res.Seconds)
	return err
}
