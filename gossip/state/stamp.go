package state

import (
	"encoding/json"
	"errors"

	"github.com/edgecdn/edge/cache"
)

// ErrStale is returned when a state does not win over the one in force.
var ErrStale = errors.New("app state is older than the one in force")

// Stamp orders the states of one app: generation, then hybrid logical
// clock, then node id. Gen grows by one with every change made anywhere;
// two changes made on both sides of a partition share a Gen and are told
// apart by HLC, then Node.
type Stamp struct {
	Gen  int    `json:"gen"`
	HLC  uint64 `json:"hlc"`
	Node string `json:"node"`
}

// Less reports whether s loses to o.
func (s Stamp) Less(o Stamp) bool {
	if s.Gen != o.Gen {
		return s.Gen < o.Gen
	}
	if s.HLC != o.HLC {
		return s.HLC < o.HLC
	}
	return s.Node < o.Node
}

// AppState is one app's state as a mesh gossips it: the version that
// serves and its signed manifest, or a tombstone (Removed, no manifest).
type AppState struct {
	App      string          `json:"app"`
	Stamp    Stamp           `json:"stamp"`
	Version  int             `json:"version,omitempty"`
	Removed  bool            `json:"removed,omitempty"`
	Manifest *cache.Manifest `json:"manifest,omitempty"`
}

// record is what a cache Head holds: the stamp of the state in force.
type record struct {
	Stamp   Stamp `json:"stamp"`
	Version int   `json:"version,omitempty"`
	Removed bool  `json:"removed,omitempty"`
}

func decodeRecord(h cache.Head) record {
	var r record
	if len(h.State) > 0 {
		_ = json.Unmarshal(h.State, &r)
	}
	return r
}

func (r record) encode() ([]byte, error) { return json.Marshal(r) }

// stateOf is the AppState an app's head describes.
func stateOf(h cache.AppHead) *AppState {
	r := decodeRecord(h.Head)
	st := &AppState{App: h.App, Stamp: r.Stamp, Removed: r.Removed}
	if !r.Removed && h.Active != nil {
		st.Version, st.Manifest = h.Active.Version, h.Active
	}
	return st
}
