package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/modules"
)

// App is a loaded, immutable app: its manifest, compiled modules and a
// snapshot of its static files. Requests hold a pointer to the App they
// started on, so replacing an app never changes a request in flight.
type App struct {
	Name   string
	Hosts  []string
	Source string // where it was loaded from, for logs
	Routes []*Route
	// Blobs are the hex digests of every file the app uses (modules and
	// static files): what the cache must keep while the app is loaded.
	Blobs []string
}

// Route is one route of an App, ready to serve.
type Route struct {
	Pattern string // as in edge.toml: "/api/hello" or "/api/..."
	Prefix  string // Pattern without "/...", for wildcard routes
	Wild    bool

	// Dynamic routes.
	Module   *modules.Module
	Executor string // "wagi" or "edge" (a JavaScript route runs its engine through the edge ABI)
	WAGI     *modules.WAGIRoute
	Limits   modules.Limits
	Outbound *Outbound // what the guest may fetch; nil: nothing

	// Static routes.
	Files        *StaticFiles
	CacheControl string
	Internal     bool // served only through a module's X-Edge-Static

	// Origin routes.
	Origin *Origin
	// cacheControl is CacheControl as a header value, built once at load
	// so a response shares it instead of allocating one.
	cacheControl []string
}

// Dynamic reports whether the route runs a module.
func (r *Route) Dynamic() bool { return r.Module != nil }

// LoadOptions configures LoadApp.
type LoadOptions struct {
	// Loader compiles modules, through the AOT cache when it has one.
	Loader *ModuleLoader
	// Engine is used when Loader is nil: modules are compiled uncached.
	Engine *modules.Engine
	// Cache, when set, stores every file as a content-addressed blob, and
	// static routes are served from it. Nil keeps static files in memory.
	Cache *cache.Cache
	// MaxStaticBytes caps the static files of one app held in memory
	// (without a Cache).
	MaxStaticBytes int64
	// ServerSoftware is passed to guests as SERVER_SOFTWARE.
	ServerSoftware string
}

// LoadAppDir loads an app from a directory on disk. The directory is opened
// as an os.Root, so no file name or symlink can reach outside it.
func LoadAppDir(dir string, opt LoadOptions) (*App, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("edge: load app %s: %w", dir, err)
	}
	defer root.Close()
	var ix *fileIndex
	if opt.Cache != nil {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("edge: load app %s: %w", dir, err)
		}
		ix = newFileIndex(opt.Cache, abs)
	}
	app, err := loadApp(root.FS(), dir, opt, ix)
	if err == nil {
		err = ix.flush() // only after a complete load: never index half an app
	}
	return app, err
}

// LoadApp loads an app from fsys, whose root holds edge.toml. source names
// the app in errors. Every module is compiled and every static file read
// before LoadApp returns, so a loaded app never fails later for a missing
// or invalid file.
func LoadApp(fsys fs.FS, source string, opt LoadOptions) (*App, error) {
	return loadApp(fsys, source, opt, nil)
}

func loadApp(fsys fs.FS, source string, opt LoadOptions, ix *fileIndex) (*App, error) {
	file := path.Join(source, ConfigFile)
	data, err := fs.ReadFile(fsys, ConfigFile)
	if err != nil {
		return nil, configError(file, "", "cannot read: %v", unwrapPath(err))
	}
	m, err := ParseConfig(file, data)
	if err != nil {
		return nil, err
	}
	if opt.Loader == nil && opt.Engine != nil {
		opt.Loader = NewModuleLoader(opt.Engine, nil, nil)
	}
	if opt.Cache != nil {
		defer opt.Cache.Hold()() // no GC while blobs are imported
	}
	app := &App{Name: m.Name, Hosts: m.Hosts, Source: source}
	src := &assetSource{cache: opt.Cache, budget: opt.MaxStaticBytes, blobs: map[string]bool{}, index: ix}
	if src.budget == 0 {
		src.budget = DefaultMaxStaticBytes
	}
	for i := range m.Routes {
		spec := &m.Routes[i]
		field := fmt.Sprintf("routes[%d]", i)
		rt, err := loadRoute(fsys, spec, opt, src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %s.%w", file, ErrConfig, field, err)
		}
		app.Routes = append(app.Routes, rt)
	}
	for d := range src.blobs {
		app.Blobs = append(app.Blobs, d)
	}
	sort.Strings(app.Blobs)
	return app, nil
}

// DefaultMaxStaticBytes caps an app's static files held in memory.
const DefaultMaxStaticBytes = 256 << 20

func loadRoute(fsys fs.FS, spec *RouteSpec, opt LoadOptions, src *assetSource) (*Route, error) {
	rt := &Route{Pattern: spec.Path}
	rt.Prefix, rt.Wild = cutWildcard(spec.Path)
	if spec.Origin != "" {
		o, err := loadOrigin(fsys, &spec.OriginSpec)
		rt.Origin = o
		return rt, err
	}
	if spec.Static != "" {
		files, err := loadStatic(fsys, spec.Static, src)
		if err != nil {
			return nil, fmt.Errorf("static: %w", err)
		}
		rt.Files, rt.CacheControl, rt.Internal = files, spec.CacheControl, spec.Internal
		if spec.CacheControl != "" {
			rt.cacheControl = headerValue(spec.CacheControl)
		}
		return rt, nil
	}
	if spec.Script != "" {
		return rt, loadScript(fsys, spec, opt, src, rt)
	}
	return rt, loadModule(fsys, spec, opt, src, rt)
}

func loadModule(fsys fs.FS, spec *RouteSpec, opt LoadOptions, src *assetSource, rt *Route) error {
	name := path.Clean(spec.Module)
	if !fs.ValidPath(name) {
		return fmt.Errorf("module: %q must be a relative path inside the app directory", spec.Module)
	}
	digest, read, err := src.module(fsys, name)
	if err != nil {
		return fmt.Errorf("module: %s: %w", spec.Module, err)
	}
	if opt.Loader == nil {
		return errNoEngine
	}
	lim, err := routeLimits(spec, opt.Loader.Engine())
	if err != nil {
		return err
	}
	mod, snap, err := opt.Loader.LoadPreinit(name, digest, read, preinitOf(spec, name, lim))
	if err != nil {
		return fmt.Errorf("module: %w", err)
	}
	if snap != nil {
		src.blobs[snap.String()] = true // the cache keeps the snapshot while the app is loaded
	}
	if need := executorExport[spec.Executor]; !mod.Exports(need) {
		return fmt.Errorf("module: %s does not export %s, which the %q executor calls", spec.Module, need, spec.Executor)
	}
	rt.Module = mod
	rt.Executor = spec.Executor
	rt.Limits = lim
	if rt.Outbound, err = loadOutbound(fsys, spec); err != nil {
		return err
	}
	rt.WAGI = &modules.WAGIRoute{Pattern: spec.Path, Module: name, Env: spec.Env, ServerSoftware: opt.ServerSoftware}
	return nil
}

// routeLimits are the route's limits with defaults, checked against what
// the node's engine allows any guest: a route asking for more memory or
// output than that is refused; the default memory is capped at it.
func routeLimits(spec *RouteSpec, eng *modules.Engine) (modules.Limits, error) {
	memory, _ := parseSize(spec.Memory) // validated with the manifest
	output, _ := parseSize(spec.MaxOutput)
	timeout, _ := parseTimeout(spec.Timeout)
	lim := modules.Limits{Memory: memory, MaxOutput: output, Timeout: timeout}.WithDefaults()
	if most := eng.MaxMemory(); lim.Memory > most {
		if memory > 0 {
			return lim, fmt.Errorf("memory: %s is more than this node allows a guest (%d MiB)", spec.Memory, most>>20)
		}
		lim.Memory = most
	}
	if most := eng.MaxOutput(); output > most {
		return lim, fmt.Errorf("max_output: %s is more than this node allows a guest (%d MiB)", spec.MaxOutput, most>>20)
	}
	return lim, nil
}

// executorExport is the function each executor calls in a guest.
var executorExport = map[string]string{"wagi": "_start", "edge": "edge_handle"}

// cutWildcard splits "/api/..." into ("/api", true); "/..." gives ("", true).
func cutWildcard(p string) (string, bool) {
	if p == "/..." {
		return "", true
	}
	return strings.CutSuffix(p, "/...")
}

// unwrapPath drops the *fs.PathError wrapper whose path would repeat the
// name the caller already prints.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// loadedAt stamps static files loaded from sources without a modification
// time (embedded files), so Last-Modified is still meaningful.
var loadedAt = time.Now().UTC().Truncate(time.Second)
