package app_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/modules"
)

// TestMaxOutputAboveNodeRefused: a route may not ask for more output than
// its node allows any guest; within the bound it loads, and its limit is
// the one asked for.
func TestMaxOutputAboveNodeRefused(t *testing.T) {
	e, err := modules.NewEngineWith(modules.EngineConfig{Log: quietLog, MaxOutput: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	fsys := func(maxOutput string) fstest.MapFS {
		return fstest.MapFS{
			"edge.toml":  {Data: []byte("name = \"a\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/\"\nmodule = \"hello.wasm\"\nmax_output = \"" + maxOutput + "\"\n")},
			"hello.wasm": {Data: demoWasm(t, "hello.wasm")},
		}
	}
	_, err = app.LoadApp(fsys("2MiB"), "a", app.LoadOptions{Engine: e})
	if err == nil || !strings.Contains(err.Error(), "max_output: 2MiB is more than this node allows a guest (1 MiB)") {
		t.Errorf("load with max_output over the node's bound: %v", err)
	}
	ap, err := app.LoadApp(fsys("512KiB"), "a", app.LoadOptions{Engine: e})
	if err != nil {
		t.Fatal(err)
	}
	if got := ap.Routes[0].Limits.MaxOutput; got != 512<<10 {
		t.Errorf("MaxOutput = %d, want %d", got, 512<<10)
	}
}

// TestEngineMaxOutputCeiling: no node allows a guest more than 1 GiB.
func TestEngineMaxOutputCeiling(t *testing.T) {
	if _, err := modules.NewEngineWith(modules.EngineConfig{Log: quietLog, MaxOutput: 2 << 30}); err == nil {
		t.Error("an engine with a 2 GiB output bound was made")
	}
}
