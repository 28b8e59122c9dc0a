package client

import (
	"context"
	"net/http"

	"github.com/edgecdn/edge/ops/api"
)

// TrustKeys lists the deploy keys the node trusts, with their scopes.
func (c *Client) TrustKeys(ctx context.Context) (*api.TrustKeys, error) {
	var k api.TrustKeys
	return &k, c.call(ctx, http.MethodGet, api.PathTrustKeys, nil, &k)
}
