// Package examples bundles the demo app that ships inside the edge binary,
// so a freshly installed node serves a landing page, three WAGI guests
// (C, Go and WAT) and two edge ABI guests (C and Go) without any deployment
// step.
//
// The .wasm files in demo/ are committed build outputs; rebuild them with
// `make examples` (build.sh) after changing a guest's source.
package examples

import (
	"embed"
	"io/fs"
)

// demo holds the app bundle. The "all:" prefix is not used on purpose:
// dot-files in demo/ (editor or OS droppings) should not ship.
//
//go:embed demo
var demo embed.FS

// Demo returns the demo app with edge.toml at its root, the same layout as
// an app directory on disk, so it can be loaded like any other app.
func Demo() fs.FS {
	sub, err := fs.Sub(demo, "demo")
	if err != nil {
		// fs.Sub only fails for an invalid path, and "demo" is a constant.
		panic(err)
	}
	return sub
}
