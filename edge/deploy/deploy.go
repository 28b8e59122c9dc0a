package deploy

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/gossip/state"
	"github.com/edgecdn/edge/gossip/trust"
)

// Deploy errors, besides those of trust (ErrUnsigned, ErrUntrustedKey,
// ErrBadSignature, ErrBadManifest), cache (ErrMissingBlobs, ErrNoVersion)
// and state (ErrStale).
var (
	// ErrInvalidApp is returned when a version's files do not make a
	// loadable app: a bad edge.toml, a missing file, a module that does
	// not compile. The message names the file, the field and the reason.
	ErrInvalidApp = errors.New("app refused")
	// ErrBundleTooLarge is returned when a version's files exceed the limit.
	ErrBundleTooLarge = errors.New("bundle too large")
)

// Config configures a Deployer.
type Config struct {
	Cache  *cache.Cache
	Router *edge.Router
	// Ledger stamps changes in the mesh's order (nil: a ledger for a node
	// outside a mesh). Its Cache is set to Cache.
	Ledger *state.Ledger
	// Load is how versions are loaded; its Cache is set to Cache.
	Load app.LoadOptions
	// Trusted are the deploy keys a change may be signed with, each
	// perhaps limited to some apps.
	Trusted trust.Keyring
	// Keep is how many versions of an app are retained (0: 10).
	Keep int
	// MaxBundle caps the total size of a version's files (0: 512 MiB).
	MaxBundle int64
	// URLs lists where an app is reachable, for deploy responses.
	URLs func(*app.App) []string
	// OnChange, if set, is told the app's new state after every change
	// made here (deploy, activate, remove): a mesh gossips it.
	OnChange func(*state.AppState)
	Log      *slog.Logger
}

// DefaultMaxBundle is the default cap on a version's total size.
const DefaultMaxBundle = 512 << 20

// Deployer turns signed manifests into live apps: it checks a version,
// loads it completely (every module compiled, through the AOT cache), and
// only then records it as active in one cache transaction and swaps the
// router. Requests in flight keep the *app.App they started on.
type Deployer struct {
	cfg      Config
	log      *slog.Logger
	mu       sync.Mutex                    // one activation at a time
	base     []*app.App                    // apps from --app directories
	fallback []*app.App                    // served only when there is nothing else
	deployed map[string]*app.App           // active version of each deployed app
	trusted  atomic.Pointer[trust.Keyring] // set by SetTrusted (SIGHUP)
}

// New returns a deployer; Start loads what was deployed before.
func New(cfg Config) *Deployer {
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
		cfg.URLs = func(*app.App) []string { return nil }
	}
	if cfg.Ledger == nil {
		cfg.Ledger = &state.Ledger{}
	}
	cfg.Ledger.Cache = cfg.Cache
	cfg.Load.Cache = cfg.Cache
	return &Deployer{cfg: cfg, log: cfg.Log.With("component", "deploy"), deployed: map[string]*app.App{}}
}

// Start loads the active version of every deployed app and routes them
// with base (apps from directories; a deployed app of the same name wins).
// fallback is served only when there is no other app. A deployed app that
// cannot be loaded is logged and left out: the others still serve.
func (d *Deployer) Start(base, fallback []*app.App) error {
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
		a, err := d.load(m, versionSource(m.App, m.Version))
		if err != nil {
			d.log.Error("deployed app not loaded", "app", m.App, "version", m.Version, "err", err)
			continue
		}
		d.deployed[m.App] = a
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
func (d *Deployer) live(deployed map[string]*app.App) []*app.App {
	var apps []*app.App
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
	// ReplacedDemo is set when this deploy ended the embedded demo site,
	// which serves only while nothing else does.
	ReplacedDemo bool `json:"replaced_demo,omitempty"`
}

// Deploy verifies m and the statement s that orders it, loads it, and
// makes it the app's new active version. Nothing is recorded unless every
// step succeeds; a statement whose sequence is not above the app's
// current one is refused with state.ErrReplay.
func (d *Deployer) Deploy(m *cache.Manifest, s *trust.Statement) (*Result, error) {
	if err := d.check(m); err != nil {
		return nil, err
	}
	if err := d.checkStatement(s, m.App, false, 0, m); err != nil {
		return nil, err
	}
	a, err := d.load(m, m.App+"@new")
	if err != nil {
		return nil, err
	}
	if a.Name != m.App {
		return nil, fmt.Errorf("%w: %s: name: %q, but the version is deployed as app %q", ErrInvalidApp, app.ConfigFile, a.Name, m.App)
	}
	return d.commit(a, d.cfg.Ledger.Deploy(m, s, d.cfg.Keep), true)
}

// Activate makes a retained version the active one, as the signed
// statement s orders: a rollback.
func (d *Deployer) Activate(name string, version int, s *trust.Statement) (*Result, error) {
	m, err := d.cfg.Cache.Version(name, version)
	if err != nil {
		return nil, err
	}
	if err := d.checkStatement(s, name, false, version, m); err != nil {
		return nil, err
	}
	a, err := d.load(m, versionSource(name, version))
	if err != nil {
		return nil, err
	}
	return d.commit(a, d.cfg.Ledger.Activate(name, version, s, d.cfg.Keep), true)
}

// Remove stops serving a deployed app and forgets its versions, as the
// signed statement s orders.
func (d *Deployer) Remove(name string, s *trust.Statement) error {
	if err := d.checkStatement(s, name, true, 0, nil); err != nil {
		return err
	}
	_, err := d.commit(nil, d.cfg.Ledger.Remove(name, s), true)
	return err
}

// Seq is the app's current sequence: the next change is signed at Seq+1.
func (d *Deployer) Seq(name string) (int, error) { return d.cfg.Ledger.Seq(name) }

// checkStatement verifies that s is signed by a trusted key whose scope
// covers app and that it orders this change. Its sequence is checked in
// the commit's transaction.
func (d *Deployer) checkStatement(s *trust.Statement, app string, removed bool, version int, m *cache.Manifest) error {
	if err := trust.VerifyStatement(s, d.keys()); err != nil {
		return err
	}
	return s.Describes(app, removed, version, m)
}

// commit is the one path every change takes: with the deployer locked, the
// routing table for the apps after the change is prepared (the step that
// can refuse, e.g. a host conflict), the change is committed to the cache
// in one transaction, and only then is the table installed, which cannot
// fail. So the cache and the router never disagree. a is the app's new
// version, nil for a removal; publish tells OnChange (a change made here,
// not one applied from the mesh).
func (d *Deployer) commit(a *app.App, ch cache.Change, publish bool) (*Result, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	next := d.with(ch.App, a)
	table, err := d.cfg.Router.Prepare(d.live(next))
	if err != nil {
		return nil, err
	}
	wasDemo := len(d.deployed) == 0 && len(d.base) == 0 && len(d.fallback) > 0
	pruned, err := d.cfg.Cache.Commit(ch)
	if err != nil {
		return nil, err
	}
	d.cfg.Router.Install(table)
	d.deployed = next
	res := &Result{App: ch.App, Pruned: pruned}
	switch {
	case ch.Remove:
		d.log.Info("removed", "app", ch.App)
	default:
		res.Version = activeVersion(ch)
		res.URLs = d.cfg.URLs(a)
		res.ReplacedDemo = wasDemo
		a.Source = versionSource(ch.App, res.Version)
		d.log.Info("activated", "app", ch.App, "version", res.Version, "pruned", pruned)
	}
	if publish {
		d.changed(ch.App)
	}
	return res, nil
}

// activeVersion is the version that serves after ch.
func activeVersion(ch cache.Change) int {
	if ch.Put != nil {
		return ch.Put.Version
	}
	return ch.Activate
}

// check verifies what can be checked without loading: shape, signature,
// size, and that every blob is stored with the size the manifest says.
func (d *Deployer) check(m *cache.Manifest) error {
	if err := trust.Check(m); err != nil {
		return err
	}
	if _, ok := m.Files[app.ConfigFile]; !ok {
		return fmt.Errorf("%w: files: %s is missing", trust.ErrBadManifest, app.ConfigFile)
	}
	if err := trust.Verify(m, d.keys().Pubs()); err != nil {
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
			return fmt.Errorf("%w: files[%q].size: %d, but its blob has %d bytes", trust.ErrBadManifest, p, f.Size, info.Size)
		}
	}
	return nil
}

// load builds the app of a version, compiling its modules.
func (d *Deployer) load(m *cache.Manifest, source string) (*app.App, error) {
	a, err := app.LoadApp(newVersionFS(d.cfg.Cache, m), source, d.cfg.Load)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidApp, err)
	}
	return a, nil
}

// with is a copy of the deployed set with name set to a (nil: removed).
func (d *Deployer) with(name string, a *app.App) map[string]*app.App {
	next := make(map[string]*app.App, len(d.deployed)+1)
	for k, v := range d.deployed {
		next[k] = v
	}
	if a == nil {
		delete(next, name)
	} else {
		next[name] = a
	}
	return next
}

// changed tells OnChange the app's state in force. Called with d.mu held,
// so that states leave in the order they were made.
func (d *Deployer) changed(name string) {
	if d.cfg.OnChange == nil {
		return
	}
	st, err := d.cfg.Ledger.State(name)
	if err != nil {
		d.log.Error("state not published", "app", name, "err", err)
		return
	}
	d.cfg.OnChange(st)
}
