package edge

import (
	"fmt"

	"github.com/edgecdn/edge/cache"
)

// ApplyRemote applies an app state made on another node of the mesh: the
// signed manifest verified, loaded completely (every module compiled for
// this node), then stored under the version number the origin gave it and
// activated in one cache transaction, only if it wins over the state in
// force (cache.ErrStale otherwise). A tombstone stops serving the app.
// Every blob must already be stored: the mesh fetches them first.
func (d *Deployer) ApplyRemote(st *cache.AppState) error {
	if cur, err := d.cfg.Cache.State(st.App); err == nil && !cur.Stamp.Less(st.Stamp) {
		return cache.ErrStale
	}
	var app *App
	if !st.Removed {
		m := st.Manifest
		if m == nil || m.App != st.App || st.Version <= 0 {
			return fmt.Errorf("%w: state of %s has no manifest for it", cache.ErrBadManifest, st.App)
		}
		if err := d.check(m); err != nil {
			return err
		}
		var err error
		if app, err = d.load(m, versionSource(st.App, st.Version)); err != nil {
			return err
		}
		if app.Name != st.App {
			return fmt.Errorf("%w: %s/edge.toml: name: %q", ErrInvalidApp, st.App, app.Name)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	next := d.with(st.App, app)
	if err := d.cfg.Router.Check(d.live(next)); err != nil {
		return err
	}
	if _, err := d.cfg.Cache.CommitState(st, d.cfg.Keep); err != nil {
		return err
	}
	d.swap(next)
	d.log.Info("applied", "app", st.App, "version", st.Version, "removed", st.Removed, "gen", st.Stamp.Gen, "origin", st.Stamp.Node)
	return nil
}

// States lists every app's state in force, for the mesh's anti-entropy.
func (d *Deployer) States() ([]*cache.AppState, error) {
	return d.cfg.Cache.States()
}
