package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/edgecdn/edge/gossip/trust"
	"github.com/edgecdn/edge/ops/api"
)

// purgeCmd is `edge purge URL`, `edge purge --prefix URL` or
// `edge purge --tag KEY`, each with an optional --soft: cached origin
// responses removed (or marked stale) through the node's admin API, and
// through it on every member of its mesh. With --app the purge is signed
// with a deploy key (--key, as for deploys) for that app: members check
// the signature and apply it to that app's objects only. Without --app,
// only the node asked purges.
func purgeCmd() *cobra.Command {
	var cf clientFlags
	var req api.PurgeRequest
	var appName, keyFile string
	cmd := &cobra.Command{
		Use:   "purge [URL]",
		Short: "Drop cached origin responses: by URL, --prefix URL or --tag KEY",
		Args: func(cmd *cobra.Command, args []string) error {
			byOther := req.Prefix != "" || req.Tag != ""
			switch {
			case byOther && len(args) == 0, !byOther && len(args) == 1:
				return nil
			case byOther:
				return usagef("takes a URL, or --prefix or --tag, not both")
			}
			return usagef("wants a URL, --prefix URL or --tag KEY")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				req.URL = args[0]
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			if appName != "" {
				if req, err = signPurge(req, appName, keyFile, cf.data); err != nil {
					return err
				}
			}
			res, err := c.Purge(cmd.Context(), req)
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			kind := "purged"
			if req.Soft {
				kind = "marked stale"
			}
			// Purged counts this node's entries only: the members apply
			// the purge to theirs after it reaches them.
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s %s on this node; delivered to %d node(s) in %.3fs\n", kind, plural(res.Purged, "cached response"), res.Nodes, res.Seconds)
			return err
		},
	}
	cmd.Flags().StringVar(&req.Prefix, "prefix", "", "purge every cached URL that starts with this one")
	cmd.Flags().StringVar(&req.Tag, "tag", "", "purge every response whose Surrogate-Key lists this key")
	cmd.Flags().BoolVar(&req.Soft, "soft", false, "mark stale instead of removing: served while one request revalidates")
	cmd.Flags().StringVar(&appName, "app", "", "sign the purge for this app and send it to every node of the mesh (without: this node only)")
	cmd.Flags().StringVar(&keyFile, "key", "", "deploy key to sign with, trusted for --app (default: DATA/deploy.key, the dev key of a local node)")
	cf.register(cmd)
	return cmd
}

// signPurge wraps req in a statement for app signed with the deploy key.
func signPurge(req api.PurgeRequest, app, keyFile, data string) (api.PurgeRequest, error) {
	key, err := signingKey(keyFile, data)
	if err != nil {
		return req, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return req, err
	}
	st := trust.NewPurgeStatement(app, body)
	trust.SignPurge(st, key)
	return api.PurgeRequest{Statement: st}, nil
}
