package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/edgecdn/edge/gossip/trust"
	"github.com/edgecdn/edge/ops/api"
)

// CheckToken asks the node for its counters: it fails with ErrUnauthorized
// on a wrong token before anything is sent.
func (c *Client) CheckToken(ctx context.Context) error {
	_, err := c.Stats(ctx)
	return err
}

// Stats is what the node's deploy endpoints received since it started.
func (c *Client) Stats(ctx context.Context) (*api.DeployStats, error) {
	var s api.DeployStats
	return &s, c.call(ctx, http.MethodGet, api.PathStats, nil, &s)
}

// Apps lists what the node serves.
func (c *Client) Apps(ctx context.Context) ([]api.AppStatus, error) {
	var out api.AppList
	return out.Apps, c.call(ctx, http.MethodGet, api.PathApps, nil, &out)
}

// History is a deployed app's retained versions.
func (c *Client) History(ctx context.Context, app string) (*api.History, error) {
	var h api.History
	if err := c.call(ctx, http.MethodGet, appPath(app, "/versions"), nil, &h); err != nil {
		return nil, notDeployed(app, err)
	}
	return &h, nil
}

// Seq is the app's current sequence on the node: the next change is
// signed at Seq+1.
func (c *Client) Seq(ctx context.Context, app string) (int, error) {
	var st api.AppState
	return st.Seq, c.call(ctx, http.MethodGet, appPath(app, "/state"), nil, &st)
}

// statement is a statement of action on app signed with key at the
// node's next sequence; m is the version that serves after it.
func (c *Client) statement(ctx context.Context, app, action string, m *api.Manifest, key ed25519.PrivateKey) (*api.Statement, error) {
	seq, err := c.Seq(ctx, app)
	if err != nil {
		return nil, err
	}
	st := trust.NewStatement(app, action, seq+1, m)
	trust.SignStatement(st, key)
	return st, nil
}

// Activate makes version of app the active one (a rollback), signed with
// key. The version's manifest is read from the node's history and named
// in the statement by its hash, so the node can activate nothing else.
func (c *Client) Activate(ctx context.Context, app string, version int, key ed25519.PrivateKey) (*api.DeployResult, error) {
	h, err := c.History(ctx, app)
	if err != nil {
		return nil, err
	}
	var m *api.Manifest
	for _, v := range h.Versions {
		if v.Version == version {
			m = v
		}
	}
	if m == nil {
		return nil, fmt.Errorf("%s has no version %d (edge app history %s lists them)", app, version, app)
	}
	for attempt := 0; ; attempt++ {
		st, err := c.statement(ctx, app, trust.ActActivate, m, key)
		if err != nil {
			return nil, err
		}
		var res api.DeployResult
		err = c.call(ctx, http.MethodPost, appPath(app, "/activate"), api.ActivateRequest{Version: version, Statement: st}, &res)
		switch {
		case errors.Is(err, ErrStaleSeq) && attempt < maxResubmits:
			continue
		case errors.Is(err, ErrNotFound):
			return nil, fmt.Errorf("%s has no version %d (edge app history %s lists them)", app, version, app)
		case err != nil:
			return nil, err
		}
		return &res, nil
	}
}

// Remove deletes app and all its versions from the node (and the mesh),
// signed with key.
func (c *Client) Remove(ctx context.Context, app string, key ed25519.PrivateKey) error {
	for attempt := 0; ; attempt++ {
		st, err := c.statement(ctx, app, trust.ActRemove, nil, key)
		if err != nil {
			return err
		}
		err = c.call(ctx, http.MethodDelete, appPath(app, ""), api.RemoveRequest{Statement: st}, nil)
		if errors.Is(err, ErrStaleSeq) && attempt < maxResubmits {
			continue
		}
		return notDeployed(app, err)
	}
}

// Members lists the mesh. ErrNotInMesh: the node runs alone.
func (c *Client) Members(ctx context.Context) (*api.Members, error) {
	var m api.Members
	return &m, c.call(ctx, http.MethodGet, api.PathMembers, nil, &m)
}

// GossipKeys lists the node's gossip keyring by fingerprint.
func (c *Client) GossipKeys(ctx context.Context) (*api.KeysResponse, error) {
	var k api.KeysResponse
	return &k, c.call(ctx, http.MethodGet, api.PathGossipKeys, nil, &k)
}

// ChangeGossipKey installs, uses or removes a key (base64) on the node.
func (c *Client) ChangeGossipKey(ctx context.Context, op, key string) (*api.KeysResponse, error) {
	var k api.KeysResponse
	return &k, c.call(ctx, http.MethodPost, api.PathGossipKeys, api.KeyRequest{Op: op, Key: key}, &k)
}

// CacheStats, VerifyCache and GCCache run on the node holding the cache.
func (c *Client) CacheStats(ctx context.Context) (*api.CacheStats, error) {
	var s api.CacheStats
	return &s, c.call(ctx, http.MethodGet, api.PathCache+"stats", nil, &s)
}

func (c *Client) VerifyCache(ctx context.Context) (*api.VerifyReport, error) {
	var r api.VerifyReport
	return &r, c.call(ctx, http.MethodPost, api.PathCache+"verify", nil, &r)
}

func (c *Client) GCCache(ctx context.Context) (*api.GCReport, error) {
	var r api.GCReport
	return &r, c.call(ctx, http.MethodPost, api.PathCache+"gc", nil, &r)
}

func appPath(app, suffix string) string { return api.PathApps + "/" + url.PathEscape(app) + suffix }

// notDeployed says what a 404 on an app means, and what to do.
func notDeployed(app string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("no app %q is deployed on this node (edge apps lists what it serves)", app)
	}
	return err
}

// Certs lists the host names the node serves with their certificates.
func (c *Client) Certs(ctx context.Context) (*api.CertsBody, error) {
	var out api.CertsBody
	return &out, c.call(ctx, http.MethodGet, "/v1/certs", nil, &out)
}

// MemberCerts lists the certificates of the node and of every member of
// its mesh.
func (c *Client) MemberCerts(ctx context.Context) (*api.CertsBody, error) {
	var out api.CertsBody
	return &out, c.call(ctx, http.MethodGet, "/v1/certs?members=1", nil, &out)
}

// Purge removes (or, soft, marks stale) cached origin responses on the
// node and, in a mesh, on every member it reaches.
func (c *Client) Purge(ctx context.Context, req api.PurgeRequest) (*api.PurgeResponse, error) {
	var out api.PurgeResponse
	return &out, c.call(ctx, http.MethodPost, "/v1/purge", req, &out)
}
