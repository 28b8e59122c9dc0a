//go:build wasip1

// Command fetch is the example guest for outbound fetch (docs/cdn.md):
// GET /proxy?url=U fetches U through the edge_v1 fetch host function and
// answers with what came back, saying in X-Upstream-Cache whether the
// node's HTTP cache had it (HIT) or asked the upstream (MISS). U must be
// on the route's allowed_outbound_hosts (edge.toml beside this file);
// anything else is refused by the host, and the guest answers 502 with
// the host's explanation.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -buildvcs=false -ldflags='-s -w' -o fetch.wasm .
package main

import (
	"errors"

	"github.com/edgecdn/edge/modules/sdk/go/edgeabi"
)

func init() {
	edgeabi.Handle(proxy)
}

func proxy(r *edgeabi.Request) edgeabi.Response {
	u := r.Query("url")
	if u == "" {
		return edgeabi.Text(400, "give ?url=https://an.allowed.host/path\n")
	}
	resp, err := edgeabi.Get(u)
	if err != nil {
		status := 502
		if errors.Is(err, edgeabi.ErrFetchRefused) {
			status = 403
		}
		return edgeabi.Text(status, err.Error()+"\n")
	}
	h := edgeabi.Header{"X-Upstream-Cache": {resp.Header.Get("X-Cache")}}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		h.Set("Content-Type", ct)
	}
	return edgeabi.Response{Status: resp.Status, Header: h, Body: resp.Body}
}

func main() {}
