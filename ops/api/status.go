package api

import "time"

// Status is GET /v1/status: what the dashboard shows of a node, in one
// call. Counters are totals since the node started; the page turns two
// readings into rates.
type Status struct {
	Node        string       `json:"node"`
	Time        time.Time    `json:"time"`
	Started     time.Time    `json:"started"`
	Ready       bool         `json:"ready"`
	ReadyReason string       `json:"ready_reason,omitempty"`
	Apps        []AppStatus  `json:"apps"`
	Traffic     []AppTraffic `json:"traffic"`
	// Guests counts failed guest runs by kind (trap, deadline,
	// output_too_large, bad_response).
	Guests  map[string]float64 `json:"guest_failures"`
	Cache   CacheStatus        `json:"cache"`
	Members *Members           `json:"members,omitempty"` // nil outside a mesh
	Deploys []DeployEvent      `json:"deploys"`           // newest first
}

// AppTraffic is one app's requests since start and its latency
// percentiles (from the histogram's buckets), in seconds.
type AppTraffic struct {
	App      string  `json:"app"`
	Requests float64 `json:"requests"`
	Errors   float64 `json:"errors"` // 5xx
	P50      float64 `json:"p50"`
	P90      float64 `json:"p90"`
	P99      float64 `json:"p99"`
}

// CacheStatus is the AOT cache's hit counters.
type CacheStatus struct {
	Hits     float64 `json:"artifact_hits"`
	Misses   float64 `json:"artifact_misses"`
	HitRatio float64 `json:"hit_ratio"` // 0 when nothing was looked up
}

// DeployEvent is one retained version of an app: when it was made, who
// signed it (the key's fingerprint) and whether it serves.
type DeployEvent struct {
	App     string    `json:"app"`
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	Signer  string    `json:"signer"`
	Active  bool      `json:"active"`
}
