// Package client is the typed client of a node's admin API, used by every
// `edge` command that talks to a node and by tests. It owns the token's
// resolution order and the deploy protocol (upload what the node lacks,
// submit the signed manifest, upload again what a concurrent prune took).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgecdn/edge/ops/api"
)

// DefaultNode is the admin address a node listens on by default.
const DefaultNode = "127.0.0.1:9090"

// TokenFile is where a node keeps the admin token it generated, in its
// data dir (the same name package ops writes).
const TokenFile = "admin.token"

// TokenEnv is the environment variable holding an admin token.
const TokenEnv = "EDGE_TOKEN"

// Client calls one node's admin API. The zero value is not usable: use New.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for the node at addr (a URL, or host:port for
// http), presenting token. Resolve the token with ResolveToken.
func New(addr, token string) *Client {
	if addr == "" {
		addr = DefaultNode
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return &Client{base: strings.TrimSuffix(addr, "/"), token: token, http: http.DefaultClient}
}

// Base is the node's admin URL.
func (c *Client) Base() string { return c.base }

// ResolveToken is the one order every command finds its token in: the
// given token (the --token flag), then $EDGE_TOKEN, then the token file a
// local node generated in its data dir. "" when none is found: the node
// then answers 401, which says what to do.
func ResolveToken(token, dataDir string) string {
	if token != "" {
		return token
	}
	if env := os.Getenv(TokenEnv); env != "" {
		return env
	}
	if dataDir == "" {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(dataDir, TokenFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// call sends in (JSON, or an io.Reader sent raw) and decodes the answer
// into out (may be nil).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	body, isJSON, err := encode(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if isJSON {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &UnreachableError{Node: c.base, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e api.Error
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return &Error{Status: resp.StatusCode, Message: e.Error, Missing: e.Missing, Code: e.Code}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("node %s sent an answer this client cannot read (a different edge version?): %w", c.base, err)
	}
	return nil
}

func encode(in any) (io.Reader, bool, error) {
	switch v := in.(type) {
	case nil:
		return nil, false, nil
	case io.Reader:
		return v, false, nil
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, false, err
	}
	return bytes.NewReader(b), true, nil
}
