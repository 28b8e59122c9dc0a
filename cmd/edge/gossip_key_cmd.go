package main

import (
	"encoding/base64"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip"
	"github.com/edgecdn/edge/ops/api"
)

// writeGossipKey is `edge keygen --gossip [--out NAME]`: a new gossip key
// in NAME.gossip (mode 0600), or on stdout.
func writeGossipKey(out string, stdout io.Writer) error {
	line := gossip.FormatKey(gossip.GenerateKey())
	if out == "" {
		fmt.Fprintln(stdout, line)
		return nil
	}
	path := out + ".gossip"
	if err := cache.WriteNewFile(path, []byte(line+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (secret: give it to every node with edge serve --gossip-key %s)\n", path, path)
	return nil
}

// gossipKeyCmd is `edge gossip-key list|install|use|remove [KEY]` against
// one node. A rotation without downtime: install the new key on every
// node, then use it on every node, then remove the old one on every node.
func gossipKeyCmd() *cobra.Command {
	cmd := groupCmd("gossip-key", "Rotate a node's gossip keyring: list, install, use, remove")
	cmd.Long = `Rotate a node's gossip keyring without downtime: install the new key on
every node, then use it on every node, then remove the old one on every node.`
	var cf clientFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List the keyring by fingerprint",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			resp, err := c.GossipKeys(cmd.Context())
			return printKeys(cmd.OutOrStdout(), resp, err, cf.json)
		},
	}
	cf.register(list)
	cmd.AddCommand(list)
	for _, op := range []struct{ name, short string }{
		{"install", "Add a key to the keyring (it decrypts, does not encrypt yet)"},
		{"use", "Make an installed key the one that encrypts"},
		{"remove", "Remove a key that no longer encrypts"},
	} {
		var cf clientFlags
		sub := &cobra.Command{
			Use:   op.name + " KEY|FILE",
			Short: op.short,
			Args:  exactArgs("KEY|FILE"),
			RunE: func(cmd *cobra.Command, args []string) error {
				key, err := gossip.LoadKey(args[0])
				if err != nil {
					return err
				}
				c, err := cf.client()
				if err != nil {
					return err
				}
				resp, err := c.ChangeGossipKey(cmd.Context(), op.name, base64.StdEncoding.EncodeToString(key))
				return printKeys(cmd.OutOrStdout(), resp, err, cf.json)
			},
		}
		cf.register(sub)
		cmd.AddCommand(sub)
	}
	return cmd
}

func printKeys(w io.Writer, resp *api.KeysResponse, err error, asJSON bool) error {
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, resp)
	}
	for _, k := range resp.Keys {
		mark := ""
		if k == resp.Primary {
			mark = " (primary: encrypts)"
		}
		fmt.Fprintf(w, "%s%s\n", k, mark)
	}
	return nil
}
