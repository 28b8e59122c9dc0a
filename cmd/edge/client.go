package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgecdn/edge/ops"
)

// clientFlags are the flags every command that talks to a node takes.
type clientFlags struct {
	node, token, data, config string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.node, "node", "", "the node's admin API (default: the config file's admin, else http://127.0.0.1:9090)")
	fs.StringVar(&c.token, "token", "", "admin token (default: $EDGE_TOKEN, the config file's token, else DATA/admin.token)")
	fs.StringVar(&c.data, "data", "", "a local node's data dir, for its token and dev deploy key (default: the config file's data, else ./edge-data)")
	fs.StringVar(&c.config, "config", "", "a node config file (TOML) to take admin, token and data from")
}

// client resolves the flags into an API client.
func (c *clientFlags) client() (*adminClient, error) {
	cfg := defaultServeConfig()
	if c.config != "" {
		if err := loadConfigFile(c.config, &cfg); err != nil {
			return nil, err
		}
	}
	if c.data == "" {
		c.data = cfg.Data
	}
	node := c.node
	if node == "" {
		node = cfg.Admin
	}
	if !strings.Contains(node, "://") {
		node = "http://" + node
	}
	tok := c.token
	if tok == "" {
		tok = os.Getenv("EDGE_TOKEN")
	}
	if tok == "" {
		tok = cfg.Token
	}
	if tok == "" {
		tok, _ = ops.ReadToken(filepath.Join(c.data, ops.TokenFile))
	}
	return &adminClient{base: strings.TrimSuffix(node, "/"), token: tok}, nil
}

// adminClient calls a node's admin API.
type adminClient struct {
	base, token string
}

// apiError is a non-2xx answer, with the node's message.
type apiError struct {
	status  int
	msg     string
	missing []string
}

func (e *apiError) Error() string { return fmt.Sprintf("node answered %d: %s", e.status, e.msg) }

// call sends in (JSON, or an io.Reader sent raw) and decodes the answer
// into out (may be nil).
func (c *adminClient) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if r, ok := in.(io.Reader); ok {
		body = r
	} else if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if _, raw := in.(io.Reader); !raw && in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("node %s does not answer: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct {
			Error   string   `json:"error"`
			Missing []string `json:"missing"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return &apiError{status: resp.StatusCode, msg: e.Error, missing: e.Missing}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
