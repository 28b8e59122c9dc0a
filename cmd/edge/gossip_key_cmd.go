package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip"
	"github.com/edgecdn/edge/ops"
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

// runGossipKey is `edge gossip-key list|install|use|remove [KEY]` against
// one node. A rotation without downtime: install the new key on every
// node, then use it on every node, then remove the old one on every node.
func runGossipKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: edge gossip-key list|install|use|remove [KEY|FILE] [--node URL]")
		return errUsage
	}
	op := args[0]
	nargs := 1
	if op == "list" {
		nargs = 0
	}
	c, pos, asJSON, err := clientCommand("gossip-key "+op, "[KEY|FILE]", args[1:], stderr, nargs, nil)
	if err != nil {
		return err
	}
	var resp ops.KeysResponse
	if op == "list" {
		err = c.call(ctx, http.MethodGet, "/v1/gossip/keys", nil, &resp)
	} else {
		key, kerr := gossip.LoadKey(pos[0])
		if kerr != nil {
			return kerr
		}
		err = c.call(ctx, http.MethodPost, "/v1/gossip/keys", ops.KeyRequest{Op: op, Key: base64.StdEncoding.EncodeToString(key)}, &resp)
	}
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, resp)
	}
	for _, k := range resp.Keys {
		mark := ""
		if k == resp.Primary {
			mark = " (primary: encrypts)"
		}
		fmt.Fprintf(stdout, "%s%s\n", k, mark)
	}
	return nil
}
