package deploy

import (
	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge/app"
)

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

func (d *Deployer) isDeployed(a *app.App) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.deployed[a.Name] == a
}

// History is one deployed app's retained versions.
func (d *Deployer) History(name string) (*cache.AppVersions, error) {
	return d.cfg.Cache.History(name)
}
