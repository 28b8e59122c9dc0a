package deploy

import (
	"fmt"

	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/gossip/state"
	"github.com/edgecdn/edge/gossip/trust"
)

// ApplyRemote applies an app state made on another node of the mesh: its
// signed statement and manifest verified (whoever relayed it), loaded completely (every module compiled for
// this node), then stored under the version number the origin gave it and
// activated in one cache transaction, only if it wins over the state in
// force (state.ErrStale otherwise). A tombstone stops serving the app.
// Every blob must already be stored: the mesh fetches them first.
func (d *Deployer) ApplyRemote(st *state.AppState) error {
	if cur, err := d.cfg.Ledger.State(st.App); err == nil && !cur.Stamp.Less(st.Stamp) {
		return state.ErrStale // cheap early answer; the commit checks again
	}
	if err := st.Verify(d.cfg.Trusted); err != nil {
		return err
	}
	ch, err := state.Apply(st, d.cfg.Keep)
	if err != nil {
		return fmt.Errorf("%w: %w", trust.ErrBadManifest, err)
	}
	var a *app.App
	if !st.Removed {
		if err := d.check(st.Manifest); err != nil {
			return err
		}
		if a, err = d.load(st.Manifest, versionSource(st.App, st.Version)); err != nil {
			return err
		}
		if a.Name != st.App {
			return fmt.Errorf("%w: %s/%s: name: %q", ErrInvalidApp, st.App, app.ConfigFile, a.Name)
		}
	}
	if _, err := d.commit(a, ch, false); err != nil {
		return err
	}
	return nil
}

// States lists every app's state in force, for the mesh's anti-entropy.
func (d *Deployer) States() ([]*state.AppState, error) {
	return d.cfg.Ledger.States()
}
