//go:build wasip1

// Command guest is the media example's module: the edge ABI glue
// (docs/edge-abi.md, modules/sdk/go/edgeabi) around package backend. It
// is a WASI reactor, built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -buildvcs=false -ldflags='-s -w' -o ../site/media.wasm .
//
// (by ../build-guest.sh, `make media-example`), and runs with
// executor = "edge". The node pre-initialises it (docs/preinit.md): the
// Go runtime's start-up and the configuration read below (the route's
// env: keys, the ladder) happen once when the app loads, and every
// request starts from that snapshot. The edge ABI has no environment at
// request time, so the route must not set preinit = false.
package main

import (
	"net/url"
	"os"
	"time"

	"github.com/edgecdn/edge/modules/examples/media/backend"
	"github.com/edgecdn/edge/modules/sdk/go/edgeabi"
)

// maxBody caps what POST /token reads: a form with a viewer id.
const maxBody = 4096

// cfg is read from the route's env at init, so it is in the snapshot.
var cfg, cfgErr = backend.ConfigFrom(os.Getenv)

func init() { edgeabi.Handle(serve) }

func serve(r *edgeabi.Request) edgeabi.Response {
	if cfgErr != nil {
		edgeabi.Log("media: " + cfgErr.Error())
		return edgeabi.Text(500, "the media route is not configured\n")
	}
	query, _ := url.ParseQuery(r.RawQuery())
	body := r.Body
	if len(body) > maxBody {
		body = body[:maxBody]
	}
	return response(cfg.Handle(backend.Request{
		Method: r.Method, Path: r.Path(), Query: query, Header: r.Header.Get, Body: string(body),
	}, time.Now()))
}

// response turns the backend's answer into the edge ABI's; a verified
// file request names the static file (X-Edge-Static) and has no body.
func response(r backend.Response) edgeabi.Response {
	if r.Log != "" {
		edgeabi.Log("refused: " + r.Log)
	}
	h := edgeabi.Header{}
	if r.CacheControl != "" {
		h.Set("Cache-Control", r.CacheControl)
	}
	if r.Static != "" {
		h.Set("X-Edge-Static", r.Static)
		return edgeabi.Response{Status: r.Status, Header: h}
	}
	if r.ContentType != "" {
		h.Set("Content-Type", r.ContentType)
	}
	return edgeabi.Response{Status: r.Status, Header: h, Body: []byte(r.Body)}
}

func main() {}
