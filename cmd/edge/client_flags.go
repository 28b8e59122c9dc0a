package main

import (
	"encoding/json"
	"io"

	"github.com/spf13/cobra"

	"github.com/edgecdn/edge/ops/client"
)

// clientFlags are the flags of every command that talks to a node.
type clientFlags struct {
	node, token, data, config string
	json                      bool
}

func (c *clientFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&c.node, "node", "", "the node's admin address, host:port or URL (default: the config file's admin, else "+client.DefaultNode+")")
	fs.StringVar(&c.node, "admin", "", "the node's admin address")
	_ = fs.MarkDeprecated("admin", "use --node")
	fs.StringVar(&c.token, "token", "", "admin token (default: $"+client.TokenEnv+", else DATA/"+client.TokenFile+")")
	fs.StringVar(&c.data, "data", "", "a local node's data directory, for its token and dev deploy key (default: the config file's data, else ./edge-data)")
	fs.StringVar(&c.config, "config", "", "a node's config file (TOML): its admin, token and data are the defaults")
	fs.BoolVar(&c.json, "json", false, "print the node's answer as JSON")
}

// client resolves the flags into an API client: the config file fills
// what the flags leave empty, then the token is looked up in the one
// order of client.ResolveToken.
func (c *clientFlags) client() (*client.Client, error) {
	cfg := defaultServeConfig()
	if c.config != "" {
		if err := loadConfigFile(c.config, &cfg); err != nil {
			return nil, err
		}
	}
	if c.data == "" {
		c.data = cfg.Data
	}
	if c.node == "" {
		c.node = cfg.Admin
	}
	if c.token == "" {
		c.token = cfg.Token // as if given with --token
	}
	return client.New(c.node, client.ResolveToken(c.token, c.data)), nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
