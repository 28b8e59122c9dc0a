package ops

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sort"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/edgecdn/edge/ops/api"
)

// maxDeployEvents bounds the deploy list of /v1/status.
const maxDeployEvents = 20

// status is GET /v1/status, the dashboard's one call.
func (a *Admin) status(w http.ResponseWriter, r *http.Request) {
	st := api.Status{Node: a.cfg.Name, Time: time.Now(), Started: a.started, Apps: []api.AppStatus{}, Deploys: []api.DeployEvent{}}
	st.Ready, st.ReadyReason = a.cfg.Ready.Check()
	if fams, err := a.cfg.Metrics.reg.Gather(); err == nil {
		byName := map[string]*dto.MetricFamily{}
		for _, f := range fams {
			byName[f.GetName()] = f
		}
		st.Traffic = traffic(byName)
		st.Guests = sumBy(byName["edge_guest_failures_total"], "kind")
		st.Cache = cacheStatus(byName)
	}
	if d := a.cfg.Deployer; d != nil {
		if apps, err := d.Apps(); err == nil {
			st.Apps = appStatuses(apps)
		}
		st.Deploys = a.deployEvents(st.Apps)
	}
	if a.cfg.Members != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if ms, err := a.cfg.Members(ctx); err == nil {
			st.Members = ms
		}
	}
	writeJSON(w, http.StatusOK, st)
}

// traffic sums each app's requests and 5xx, and reads its latency
// percentiles off the histograms of every kind merged.
func traffic(fams map[string]*dto.MetricFamily) []api.AppTraffic {
	by := map[string]*api.AppTraffic{}
	get := func(app string) *api.AppTraffic {
		if by[app] == nil {
			by[app] = &api.AppTraffic{App: app}
		}
		return by[app]
	}
	for _, m := range fams["edge_requests_total"].GetMetric() {
		t := get(label(m, "app"))
		t.Requests += m.GetCounter().GetValue()
		if label(m, "class") == "5xx" {
			t.Errors += m.GetCounter().GetValue()
		}
	}
	hists := map[string][]*dto.Histogram{}
	for _, m := range fams["edge_request_duration_seconds"].GetMetric() {
		app := label(m, "app")
		hists[app] = append(hists[app], m.GetHistogram())
	}
	out := make([]api.AppTraffic, 0, len(by))
	for app, t := range by {
		t.P50, t.P90, t.P99 = quantile(hists[app], .5), quantile(hists[app], .9), quantile(hists[app], .99)
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out
}

// quantile estimates q from merged histograms, interpolating linearly
// inside the bucket it falls in, as Prometheus' histogram_quantile does.
func quantile(hs []*dto.Histogram, q float64) float64 {
	var total uint64
	cum := map[float64]uint64{}
	for _, h := range hs {
		total += h.GetSampleCount()
		for _, b := range h.GetBucket() {
			cum[b.GetUpperBound()] += b.GetCumulativeCount()
		}
	}
	if total == 0 {
		return 0
	}
	bounds := make([]float64, 0, len(cum))
	for b := range cum {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	rank := q * float64(total)
	lower, below := 0.0, uint64(0)
	for _, ub := range bounds {
		if float64(cum[ub]) >= rank {
			in := cum[ub] - below
			if in == 0 {
				return ub
			}
			return lower + (ub-lower)*(rank-float64(below))/float64(in)
		}
		lower, below = ub, cum[ub]
	}
	return lower // past the last bucket: its bound
}

func sumBy(f *dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		out[label(m, name)] += m.GetCounter().GetValue()
	}
	return out
}

func cacheStatus(fams map[string]*dto.MetricFamily) api.CacheStatus {
	one := func(name string) float64 {
		for _, m := range fams[name].GetMetric() {
			return m.GetCounter().GetValue()
		}
		return 0
	}
	c := api.CacheStatus{Hits: one("edge_cache_artifact_hits_total"), Misses: one("edge_cache_artifact_misses_total")}
	if n := c.Hits + c.Misses; n > 0 {
		c.HitRatio = c.Hits / n
	}
	return c
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// deployEvents lists the retained versions of the deployed apps, newest
// first, each with its signer's fingerprint.
func (a *Admin) deployEvents(apps []api.AppStatus) []api.DeployEvent {
	out := []api.DeployEvent{}
	for _, app := range apps {
		if app.Active == 0 {
			continue // loaded from --app, not deployed
		}
		h, err := a.cfg.Deployer.History(app.Name)
		if err != nil {
			continue
		}
		for _, m := range h.Versions {
			out = append(out, api.DeployEvent{App: m.App, Version: m.Version, Created: m.Created, Signer: signerPrint(m.Signer), Active: m.Version == h.Active})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out[:min(len(out), maxDeployEvents)]
}

// signerPrint names a base64 public key by its sha256, 8 bytes in hex.
func signerPrint(key string) string {
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return "invalid key"
	}
	s := sha256.Sum256(raw)
	return hex.EncodeToString(s[:8])
}
