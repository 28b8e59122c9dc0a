package ops

import (
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/ops/api"
)

// The deployer's own types become the API's wire types here, and only
// here: the client never imports the request path.

func deployResult(r *edge.Result) api.DeployResult {
	return api.DeployResult{App: r.App, Version: r.Version, URLs: r.URLs, Pruned: r.Pruned}
}

func appStatuses(apps []edge.AppStatus) []api.AppStatus {
	out := make([]api.AppStatus, len(apps))
	for i, a := range apps {
		out[i] = api.AppStatus{Name: a.Name, Source: a.Source, Hosts: a.Hosts, Active: a.Active, Versions: a.Versions, URLs: a.URLs}
	}
	return out
}

// servingDemo reports whether the node serves the embedded demo, which
// the next deploy replaces for every host.
func (a *Admin) servingDemo() bool {
	apps, err := a.cfg.Deployer.Apps()
	if err != nil {
		return false
	}
	for _, s := range apps {
		if s.Source == api.DemoSource {
			return true
		}
	}
	return false
}
