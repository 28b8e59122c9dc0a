package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge/deploy"
	"github.com/edgecdn/edge/ops"
)

// clientCommand parses the client flags plus extra ones, and wants
// exactly nargs positional arguments.
func clientCommand(name, usage string, args []string, stderr io.Writer, nargs int, extra func(*flag.FlagSet)) (*adminClient, []string, bool, error) {
	fs := flag.NewFlagSet("edge "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print the node's answer as JSON")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(reorder(args)); err != nil {
		return nil, nil, false, errUsage
	}
	if fs.NArg() != nargs {
		fmt.Fprintf(stderr, "usage: edge %s %s\n", name, usage)
		return nil, nil, false, errUsage
	}
	c, err := cf.client()
	return c, fs.Args(), *asJSON, err
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// runApps is `edge apps`: what the node serves.
func runApps(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, _, asJSON, err := clientCommand("apps", "[--node URL]", args, stderr, 0, nil)
	if err != nil {
		return err
	}
	var out struct {
		Apps []deploy.AppStatus `json:"apps"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/apps", nil, &out); err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tACTIVE\tVERSIONS\tSOURCE\tURLS")
	for _, a := range out.Apps {
		active, versions := "-", "-"
		if a.Active > 0 {
			active = fmt.Sprintf("v%d", a.Active)
			versions = fmt.Sprint(len(a.Versions))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Name, active, versions, a.Source, strings.Join(a.URLs, " "))
	}
	return tw.Flush()
}

// runApp is `edge app history NAME` and `edge app rm NAME`.
func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "history" && args[0] != "rm") {
		fmt.Fprintln(stderr, "usage: edge app history|rm NAME [--node URL] [--token T]")
		return errUsage
	}
	op := args[0]
	c, pos, asJSON, err := clientCommand("app "+op, "NAME", args[1:], stderr, 1, nil)
	if err != nil {
		return err
	}
	name := url.PathEscape(pos[0])
	if op == "rm" {
		if err := c.call(ctx, http.MethodDelete, "/v1/apps/"+name, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s and all its versions\n", pos[0])
		return nil
	}
	var h cache.AppVersions
	if err := c.call(ctx, http.MethodGet, "/v1/apps/"+name+"/versions", nil, &h); err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, h)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tCREATED\tFILES\tSIZE\tSIGNER\t")
	for i := len(h.Versions) - 1; i >= 0; i-- {
		m := h.Versions[i]
		mark := ""
		if m.Version == h.Active {
			mark = "active"
		}
		signer := m.Signer
		if len(signer) > 12 {
			signer = signer[:12] + "…"
		}
		fmt.Fprintf(tw, "v%d\t%s\t%d\t%s\t%s\t%s\n", m.Version, m.Created.Format("2006-01-02 15:04:05Z"), len(m.Files), size(m.TotalSize()), signer, mark)
	}
	return tw.Flush()
}

// runRollback is `edge rollback NAME [--to N]`: activate version N, or
// the newest version older than the active one.
func runRollback(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var to *int
	var wait *time.Duration
	c, pos, asJSON, err := clientCommand("rollback", "NAME [--to N]", args, stderr, 1, func(fs *flag.FlagSet) {
		to = fs.Int("to", 0, "the version to activate (default: the one before the active version)")
		wait = fs.Duration("wait", 30*time.Second, "in a mesh, wait this long for every node to serve it (0: do not wait)")
	})
	if err != nil {
		return err
	}
	name := url.PathEscape(pos[0])
	target := *to
	if target == 0 {
		var h cache.AppVersions
		if err := c.call(ctx, http.MethodGet, "/v1/apps/"+name+"/versions", nil, &h); err != nil {
			return err
		}
		for _, m := range h.Versions {
			if m.Version < h.Active {
				target = m.Version
			}
		}
		if target == 0 {
			return fmt.Errorf("%s v%d has no older version to roll back to", pos[0], h.Active)
		}
	}
	var res deploy.Result
	if err := c.call(ctx, http.MethodPost, "/v1/apps/"+name+"/activate", ops.ActivateRequest{Version: target}, &res); err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "%s is at v%d\n", res.App, res.Version)
	for _, u := range res.URLs {
		fmt.Fprintf(stdout, "  %s\n", u)
	}
	return waitConverged(ctx, c, res.App, res.Version, *wait, stdout)
}
