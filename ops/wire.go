package ops

import (
	"github.com/edgecdn/edge/edge/deploy"
	"github.com/edgecdn/edge/ops/api"
)

// The deployer's own types become the API's wire types here, and only
// here: the client never imports the request path.

func deployResult(r *deploy.Result) api.DeployResult {
	return api.DeployResult{App: r.App, Version: r.Version, URLs: r.URLs, Pruned: r.Pruned, ReplacedDemo: r.ReplacedDemo}
}

func appStatuses(apps []deploy.AppStatus) []api.AppStatus {
	out := make([]api.AppStatus, len(apps))
	for i, a := range apps {
		out[i] = api.AppStatus{Name: a.Name, Source: a.Source, Hosts: a.Hosts, Active: a.Active, Versions: a.Versions, URLs: a.URLs}
	}
	return out
}
