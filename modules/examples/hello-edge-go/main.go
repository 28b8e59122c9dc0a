//go:build wasip1

// Command hello-edge-go is the Go demo guest for the edge ABI
// (docs/edge-abi.md), written with the SDK in modules/sdk/go/edgeabi. It
// answers "Hello, <name>! (from Go, edge ABI)" where name is the
// URL-decoded "name" query parameter (default "world", capped at 256
// bytes), like the WAGI guest in ../hello-go minus the GREETING variable:
// the edge ABI has no environment.
//
// It is a WASI reactor, built (by ../build.sh) with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -buildvcs=false -ldflags='-s -w' -o ../demo/hello-edge-go.wasm .
//
// and only builds for GOOS=wasip1, since it calls the edge_v1 host functions.
package main

import "github.com/edgecdn/edge/modules/sdk/go/edgeabi"

// maxName caps the decoded name so a huge query string cannot produce a
// huge answer; it matches the C guests.
const maxName = 256

// init registers the handler: a reactor runs init functions from
// _initialize, but never main.
func init() {
	edgeabi.Handle(hello)
}

func hello(r *edgeabi.Request) edgeabi.Response {
	// Query decodes like url.ParseQuery (skipping pairs with a malformed
	// escape) without linking net/url and fmt, which would add a fifth to
	// the module's size.
	name := r.Query("name")
	if len(name) > maxName {
		name = name[:maxName]
	}
	if name == "" {
		name = "world"
	}
	return edgeabi.Text(200, "Hello, "+name+"! (from Go, edge ABI)\n")
}

func main() {}
