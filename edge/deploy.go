package edge

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/edgecdn/edge/cache"
)

// Deploy errors, besides those of cache (ErrUnsigned, ErrUntrustedKey,
// ErrBadSignature, ErrBadManifest, ErrMissingBlobs, ErrNoVersion).
var (
	// ErrInvalidApp is returned when a version's files do not make a
	// loadable app: a bad edge.toml, a missing file, a module that does
	// not compile. The message names the file, the field and the reason.
	ErrInvalidApp = errors.New("app refused")
	// ErrBundleTooLarge is returned when a version's files exceed the limit.
	ErrBundleTooLarge = errors.New("bundle too large")
)

// DeployerConfig configures a Deployer.
type DeployerConfig struct {
	Cache  *cache.Cache
	Router *Router
	// Load is how versions are loaded; its Cache must be Cache.
	Load LoadOptions
	// Trusted are the public keys a manifest may be signed with.
	Trusted []ed25519.PublicKey
	// Keep is how many versions of an app are retained (0: 10).
	Keep int
	// MaxBundle caps the total size of a version's files (0: 512 MiB).
	MaxBundle int64
	// URLs lists where an app is reachable, for deploy responses.
	URLs func(*App) []string
	// OnChange, if set, is told the app's new state after every change
	// made here (deploy, activate, remove): a mesh gossips it.
	OnChange func(*cache.AppState)
	Log      *slog.Logger
}

// DefaultMaxBundle is the default cap on a version's total size.
const DefaultMaxBundle = 512 << 20

// Deployer turns signed manifests into live apps: it checks a version,
// loads it completely (every module compiled, through the AOT cache), and
// only then records it as active in one cache transaction and swaps the
// router. Requests in flight keep the *App they started on.
type Deployer struct {
	cfg      DeployerConfig
	log      *slog.Logger
	mu       sync.Mutex      // one activation at a time
	base     []*App          // apps from --app directories
	fallback []*App          // served only when there is nothing else
	deployed map[string]*App // active version of each deployed app
}

// NewDeployer returns a deployer; Start loads what was deployed before.
func NewDeployer(cfg DeployerConfig) *Deployer {
	if cfg.Keep <= 0 {
		cfg.Keep = cache.DefaultKeepVersions
	}
	if cfg.MaxBundle <= 0 {
		cfg.MaxBundle = DefaultMaxBundle
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.URLs == nil {
		cfg.URLs = func(*App) []string { return nil }
	}
	cfg.Load.Cache = cfg.Cache
	return &Deployer{cfg: cfg, log: cfg.Log.With("component", "deploy"), deployed: map[string]*App{}}
}

// Start loads the active version of every deployed app and routes them
// with base (apps from directories; a deployed app of the same name wins).
// fallback is served only when there is no other app. A deployed app that
// cannot be loaded is logged and left out: the others still serve.
func (d *Deployer) Start(base, fallback []*App) error {
	all, err := d.cfg.Cache.Deployed()
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.base, d.fallback = base, fallback
	for _, av := range all {
		m := av.ActiveManifest()
		if m == nil {
			continue
		}
		app, err := d.load(m, versionSource(m.App, m.Version))
		if err != nil {
			d.log.Error("deployed app not loaded", "app", m.App, "version", m.Version, "err", err)
			continue
		}
		d.deployed[m.App] = app
	}
	for _, a := range base {
		if d.deployed[a.Name] != nil {
			d.log.Warn("deployed app replaces the --app directory of the same name", "app", a.Name, "dir", a.Source)
		}
	}
	return d.cfg.Router.Set(d.live(d.deployed))
}

// DeployedCount is how many deployed apps a cache holds.
func DeployedCount(c *cache.Cache) int {
	all, _ := c.Deployed()
	return len(all)
}

// live is what the router serves given the deployed apps.
func (d *Deployer) live(deployed map[string]*App) []*App {
	var apps []*App
	for _, a := range deployed {
		apps = append(apps, a)
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
	for _, a := range d.base {
		if deployed[a.Name] == nil {
			apps = append(apps, a)
		}
	}
	if len(apps) == 0 {
		apps = d.fallback
	}
	return apps
}

// Result is what an activation made live.
type Result struct {
	App     string   `json:"app"`
	Version int      `json:"version"`
	URLs    []string `json:"urls"`
	Pruned  []int    `json:"pruned,omitempty"`
}

// Deploy verifies m, loads it, and makes it the app's new active version.
// Nothing is recorded unless every step succeeds.
func (d *Deployer) Deploy(m *cache.Manifest) (*Result, error) {
	if err := d.check(m); err != nil {
		return nil, err
	}
	app, err := d.load(m, m.App+"@new")
	if err != nil {
		return nil, err
	}
	if app.Name != m.App {
		return nil, fmt.Errorf("%w: %s/edge.toml: name: %q, but the version is deployed as app %q", ErrInvalidApp, m.App, app.Name, m.App)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	next := d.with(m.App, app)
	if err := d.cfg.Router.Check(d.live(next)); err != nil {
		return nil, err
	}
	pruned, err := d.cfg.Cache.CommitVersion(m, d.cfg.Keep)
	if err != nil {
		return nil, err
	}
	app.Source = versionSource(m.App, m.Version)
	next[m.App] = app
	d.swap(next)
	d.log.Info("deployed", "app", m.App, "version", m.Version, "files", len(m.Files), "bytes", m.TotalSize(), "pruned", pruned)
	d.changed(m.App)
	return &Result{App: m.App, Version: m.Version, URLs: d.cfg.URLs(app), Pruned: pruned}, nil
}

// check verifies what can be checked without loading: shape, signature,
// size, and that every blob is stored with the size the manifest says.
func (d *Deployer) check(m *cache.Manifest) error {
	if err := m.Check(); err != nil {
		return err
	}
	if err := m.Verify(d.cfg.Trusted); err != nil {
		return err
	}
	if n := m.TotalSize(); n > d.cfg.MaxBundle {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrBundleTooLarge, n, d.cfg.MaxBundle)
	}
	if miss := d.cfg.Cache.Missing(m.Digests()); len(miss) > 0 {
		e := &cache.MissingBlobsError{}
		for _, dg := range miss {
			e.Digests = append(e.Digests, dg.String())
		}
		return e
	}
	for _, p := range m.Paths() {
		f := m.Files[p]
		dg, _ := cache.ParseDigest(f.Digest)
		if info, err := d.cfg.Cache.StatBlob(dg); err == nil && info.Size != f.Size {
			return fmt.Errorf("%w: files[%q].size: %d, but its blob has %d bytes", cache.ErrBadManifest, p, f.Size, info.Size)
		}
	}
	return nil
}

// load builds the app of a version, compiling its modules.
func (d *Deployer) load(m *cache.Manifest, source string) (*App, error) {
	app, err := LoadApp(newVersionFS(d.cfg.Cache, m), source, d.cfg.Load)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidApp, err)
	}
	return app, nil
}

// with is a copy of the deployed set with name set to app (nil: removed).
func (d *Deployer) with(name string, app *App) map[string]*App {
	next := make(map[string]*App, len(d.deployed)+1)
	for k, v := range d.deployed {
		next[k] = v
	}
	if app == nil {
		delete(next, name)
	} else {
		next[name] = app
	}
	return next
}

// swap routes next. It was checked, so Set cannot fail.
func (d *Deployer) swap(next map[string]*App) {
	if err := d.cfg.Router.Set(d.live(next)); err != nil {
		d.log.Error("router refused a checked set of apps", "err", err)
		return
	}
	d.deployed = next
}

// Activate makes a retained version the active one: a rollback.
func (d *Deployer) Activate(name string, version int) (*Result, error) {
	m, err := d.cfg.Cache.Version(name, version)
	if err != nil {
		return nil, err
	}
	app, err := d.load(m, versionSource(name, version))
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	next := d.with(name, app)
	if err := d.cfg.Router.Check(d.live(next)); err != nil {
		return nil, err
	}
	if err := d.cfg.Cache.ActivateVersion(name, version); err != nil {
		return nil, err
	}
	d.swap(next)
	d.log.Info("activated", "app", name, "version", version)
	d.changed(name)
	return &Result{App: name, Version: version, URLs: d.cfg.URLs(app)}, nil
}

// Remove stops serving a deployed app and forgets its versions.
func (d *Deployer) Remove(name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	next := d.with(name, nil)
	if err := d.cfg.Router.Check(d.live(next)); err != nil {
		return err
	}
	if err := d.cfg.Cache.RemoveApp(name); err != nil {
		return err
	}
	d.swap(next)
	d.log.Info("removed", "app", name)
	d.changed(name)
	return nil
}

// changed tells OnChange the app's state in force. Called with d.mu held,
// so that states leave in the order they were made.
func (d *Deployer) changed(app string) {
	if d.cfg.OnChange == nil {
		return
	}
	st, err := d.cfg.Cache.State(app)
	if err != nil {
		d.log.Error("state not published", "app", app, "err", err)
		return
	}
	d.cfg.OnChange(st)
}

// AppStatus is one app as the admin API lists it.
type AppStatus struct {
	Name     string   `json:"name"`
	Source   string   `json:"source"`
	Hosts    []string `json:"hosts"`
	Active   int      `json:"active,omitempty"`   // deployed apps only
	Versions []int    `json:"versions,omitempty"` // retained, oldest first
	URLs     []string `json:"urls"`
}

// Apps lists the apps being served, with the versions of deployed ones.
func (d *Deployer) Apps() ([]AppStatus, error) {
	all, err := d.cfg.Cache.Deployed()
	if err != nil {
		return nil, err
	}
	byName := map[string]*cache.AppVersions{}
	for _, av := range all {
		byName[av.App] = av
	}
	out := []AppStatus{}
	for _, a := range d.cfg.Router.Apps() {
		s := AppStatus{Name: a.Name, Source: a.Source, Hosts: a.Hosts, URLs: d.cfg.URLs(a)}
		if av := byName[a.Name]; av != nil && d.isDeployed(a) {
			s.Active = av.Active
			for _, m := range av.Versions {
				s.Versions = append(s.Versions, m.Version)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func (d *Deployer) isDeployed(a *App) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.deployed[a.Name] == a
}

// History is one deployed app's retained versions.
func (d *Deployer) History(name string) (*cache.AppVersions, error) {
	return d.cfg.Cache.History(name)
}
