package deploy

import "github.com/edgecdn/edge/edge/app"

// SetBase replaces the apps loaded from directories (a reload on SIGHUP):
// the router then serves them beside the deployed apps, as after Start.
// A table that cannot be built (two apps claim a host) changes nothing.
func (d *Deployer) SetBase(base []*app.App) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.base
	d.base = base
	t, err := d.cfg.Router.Prepare(d.live(d.deployed))
	if err != nil {
		d.base = old
		return err
	}
	d.cfg.Router.Install(t)
	return nil
}
