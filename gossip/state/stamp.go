package state

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip/trust"
)

// ErrStale is returned when a state does not win over the one in force.
var ErrStale = errors.New("app state is older than the one in force")

// ErrReplay is returned for a local change whose signed sequence is not
// above the app's current one: an old statement replayed, or a change
// signed before another landed (sign again at the current sequence).
var ErrReplay = errors.New("signed sequence is not above the app's current one (a replayed statement, or another change landed first: sign again)")

// ErrSeqJump is returned for a statement whose sequence leaps further
// past the app's current one than MaxJump: a sequence near the limit
// would leave no room for the changes after it.
var ErrSeqJump = errors.New("signed sequence jumps too far past the app's current one")

// MaxJump bounds how far a statement's sequence may pass the app's
// current one. Sequences grow by one per change, so a legitimate gap is
// the number of changes a node missed; a million is far more.
const MaxJump = 1 << 20

// CheckSeq refuses seq unless it is above cur and at most MaxJump past it.
func CheckSeq(cur, seq int) error {
	switch {
	case seq <= cur:
		return fmt.Errorf("%w: %d, current %d", ErrReplay, seq, cur)
	case seq > trust.MaxSeq || seq-cur > MaxJump:
		return fmt.Errorf("%w: %d, current %d", ErrSeqJump, seq, cur)
	}
	return nil
}

// Stamp orders the states of one app: generation, then hybrid logical
// clock, then node id. Gen is the sequence of the signed statement that
// made the state (it grows by one with every change made anywhere, and
// no one without a deploy key can raise it); two changes signed on both
// sides of a partition share a Gen and are told apart by HLC, then Node.
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
// serves and its signed manifest, or a tombstone (Removed, no manifest),
// with the signed statement that ordered it.
type AppState struct {
	App       string           `json:"app"`
	Stamp     Stamp            `json:"stamp"`
	Version   int              `json:"version,omitempty"`
	Removed   bool             `json:"removed,omitempty"`
	Manifest  *cache.Manifest  `json:"manifest,omitempty"`
	Statement *trust.Statement `json:"statement,omitempty"`
}

// Verify checks that st is ordered by a statement signed by a key of
// trusted for its app, that the statement describes st (action, manifest,
// Gen equal to its sequence), and that a version's manifest is well formed
// and signed. Every state is checked so before it is relayed or applied.
func (st *AppState) Verify(trusted trust.Keyring) error {
	if !cache.ValidLabel(st.App) {
		return fmt.Errorf("%w: app name %q", trust.ErrBadStatement, st.App)
	}
	if err := trust.VerifyStatement(st.Statement, trusted); err != nil {
		return err
	}
	if st.Stamp.Gen != st.Statement.Seq {
		return fmt.Errorf("%w: generation %d, but signed at sequence %d", trust.ErrBadStatement, st.Stamp.Gen, st.Statement.Seq)
	}
	if !st.Removed {
		m := st.Manifest
		if m == nil || m.App != st.App || st.Version <= 0 {
			return fmt.Errorf("%w: state without its manifest", trust.ErrBadManifest)
		}
		if err := trust.Check(m); err != nil {
			return err
		}
		if err := trust.Verify(m, trusted.Pubs()); err != nil {
			return err
		}
	} else if st.Manifest != nil || st.Version != 0 {
		return fmt.Errorf("%w: a tombstone with a version", trust.ErrBadStatement)
	}
	return st.Statement.Describes(st.App, st.Removed, st.Version, st.Manifest)
}

// record is what a cache Head holds: the stamp of the state in force and
// the statement that ordered it, kept after a removal too: its sequence
// is the app's high-water mark, below which nothing is accepted again.
type record struct {
	Stamp     Stamp            `json:"stamp"`
	Version   int              `json:"version,omitempty"`
	Removed   bool             `json:"removed,omitempty"`
	Statement *trust.Statement `json:"statement,omitempty"`
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
	st := &AppState{App: h.App, Stamp: r.Stamp, Removed: r.Removed, Statement: r.Statement}
	if !r.Removed && h.Active != nil {
		st.Version, st.Manifest = h.Active.Version, h.Active
	}
	return st
}
