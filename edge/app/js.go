package app

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/modules/js"
)

// JavaScript routes (docs/js.md): executor = "js" with script =
// "handler.js". The node runs its own engine (modules/js) pre-initialised
// with the script: init reads the script from stdin (its name is argv[0],
// its memory limit argv[1], the route's env is the environment), compiles
// it and runs its top level once; every request then starts from that snapshot and answers through
// the edge ABI. The script's bytes are in the recipe, so the snapshot is
// content-addressed by (engine, script, env, limits) like any derived
// module, and comes from the AOT cache after a restart.

// jsInitTimeout is the least time init gets: besides the script's top
// level it starts the Go runtime and goja and runs the prelude, which on a
// loaded machine can take longer than a request's timeout. (The timeout is
// not part of the snapshot's key: it changes whether init finishes, not
// what it leaves.)
const jsInitTimeout = 10 * time.Second

// validateScript checks a JavaScript route: a script and no module.
func (r *RouteSpec) validateScript() *fieldError {
	switch {
	case r.Module != "":
		return bad("script", "a route has module (a wasm guest) or script (JavaScript), not both")
	case r.Static != "":
		return bad("static", "a route has script or static, not both")
	case r.Executor != "" && r.Executor != "js":
		return bad("executor", "a script runs with executor = \"js\", not %q", r.Executor)
	case r.Preinit != nil && !*r.Preinit:
		return bad("preinit", "JavaScript routes are always pre-initialised (their script is parsed once, at load)")
	}
	r.Executor = "js"
	return r.validateDynamic()
}

// loadScript loads a JavaScript route: the engine pre-initialised with
// the script. A script that does not compile, throws at top level or
// registers no fetch listener is refused here, with file and line.
func loadScript(fsys fs.FS, spec *RouteSpec, opt LoadOptions, src *assetSource, rt *Route) error {
	name := path.Clean(spec.Script)
	if !fs.ValidPath(name) {
		return fmt.Errorf("script: %q must be a relative path inside the app directory", spec.Script)
	}
	_, read, err := src.module(fsys, name) // kept as a blob of the app, like a module
	if err != nil {
		return fmt.Errorf("script: %s: %w", spec.Script, err)
	}
	script, err := read()
	if err != nil {
		return fmt.Errorf("script: %s: %w", spec.Script, err)
	}
	if opt.Loader == nil {
		return errNoEngine
	}
	lim, err := routeLimits(spec, opt.Loader.Engine())
	if err != nil {
		return err
	}
	initLim := lim
	initLim.Timeout = max(lim.Timeout, jsInitTimeout)
	p := &Preinit{Mode: PreinitOn, Executor: "js", Recipe: modules.Recipe{
		Init: "_initialize", Args: []string{name, strconv.FormatInt(lim.Memory, 10)}, Env: sortedEnv(spec.Env), Stdin: script, Limits: initLim,
	}}
	mod, snap, err := opt.Loader.LoadPreinit(name, cache.Digest(js.Digest()), js.Wasm, p)
	if err != nil {
		return fmt.Errorf("script: %w", scriptError(name, err))
	}
	src.blobs[snap.String()] = true // the cache keeps the snapshot while the app is loaded
	rt.Module = mod
	rt.Executor = "edge" // the engine speaks the edge ABI
	rt.Limits = lim
	if rt.Outbound, err = loadOutbound(fsys, spec); err != nil { // fetch() (docs/js.md)
		return err
	}
	rt.WAGI = &modules.WAGIRoute{Pattern: spec.Path, Module: name, Env: spec.Env, ServerSoftware: opt.ServerSoftware}
	return nil
}

// scriptError turns the engine's refusal of a script into its own words
// ("handler.js:3:7: SyntaxError: ..."), which the engine writes to stderr
// before exiting from init; a top level that runs past the route's
// timeout is named as such; other failures are returned as they are.
func scriptError(name string, err error) error {
	var ie *modules.InitError
	if !errors.As(err, &ie) {
		return err
	}
	if errors.Is(err, modules.ErrDeadline) {
		return fmt.Errorf("%s: the script's top level ran past its time limit (the route's timeout, at least %v): %w", name, jsInitTimeout, modules.ErrPreinit)
	}
	// The refusal is the last line; what the script logged comes before.
	msg := strings.TrimSpace(string(ie.Log))
	if msg == "" {
		return err
	}
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	return fmt.Errorf("%s: %w", msg, modules.ErrPreinit)
}
