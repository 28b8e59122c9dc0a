package trust

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/edgecdn/edge/cache"
)

// Actions a statement makes.
const (
	ActDeploy   = "deploy"   // store a new version and make it serve
	ActActivate = "activate" // make a retained version serve: a rollback
	ActRemove   = "remove"   // stop serving the app, forget its versions
)

// MaxSeq bounds a statement's sequence: far beyond any real count of
// changes, far below where int arithmetic overflows, so Seq+1 is always
// safe on every platform Go supports.
const MaxSeq = 1 << 52

// Statement errors.
var (
	// ErrNoStatement is returned for a change that carries no signed
	// statement: every change (deploy, rollback, removal) needs one.
	ErrNoStatement = errors.New("change is not signed (no statement; sign it with a deploy key: edge deploy/rollback/app rm --key FILE)")
	// ErrOutOfScope is returned when the signing key is trusted, but not
	// for this app (edge serve --trust-key FILE:APPS).
	ErrOutOfScope = errors.New("the signing key is not trusted for this app")
	// ErrBadStatement is returned for a statement that does not describe
	// the change it travels with, or is malformed.
	ErrBadStatement = errors.New("invalid signed statement")
)

// Statement is a deploy key holder's signed order for one app: what to do
// (Action), to which version (Manifest, Version), and where it stands in
// the app's history (Seq). Seq orders the app's changes mesh-wide: a node
// refuses a statement whose Seq is not above the highest it has applied,
// so an old statement, however validly signed, cannot be replayed to
// rewind the app. The signer picks Seq (the node's current one plus one,
// GET /v1/apps/NAME/state), so the signature covers it.
type Statement struct {
	App    string `json:"app"`
	Action string `json:"action"`
	Seq    int    `json:"seq"`
	// Version is the version an activate statement makes serve (a deploy's
	// number is assigned by the node after signing; a removal has none).
	Version int `json:"version,omitempty"`
	// Manifest is ManifestHash of the version that serves after the change
	// (deploy, activate).
	Manifest  string    `json:"manifest,omitempty"`
	Time      time.Time `json:"time"`
	Signer    string    `json:"signer"`
	Signature string    `json:"signature,omitempty"`
}

// ManifestHash is the hex sha256 of what a manifest's signature covers:
// a statement names its version by it.
func ManifestHash(m *cache.Manifest) string {
	sum := sha256.Sum256(SigningBytes(m))
	return hex.EncodeToString(sum[:])
}

// NewStatement is an unsigned statement of action on app at seq, made
// now. m is the version that serves after it (nil for a removal).
func NewStatement(app, action string, seq int, m *cache.Manifest) *Statement {
	s := &Statement{App: app, Action: action, Seq: seq, Time: time.Now().UTC()}
	if m != nil {
		s.Manifest = ManifestHash(m)
		if action == ActActivate {
			s.Version = m.Version
		}
	}
	return s
}

// statementBytes is the canonical JSON of everything but the signature.
func statementBytes(s *Statement) []byte {
	c := *s
	c.Signature = ""
	c.Time = c.Time.UTC()
	b, _ := json.Marshal(c)
	return append([]byte("edge-statement-v1\n"), b...)
}

// SignStatement sets s's Signer and Signature with key.
func SignStatement(s *Statement, key ed25519.PrivateKey) {
	s.Signer = base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	s.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, statementBytes(s)))
}

// VerifyStatement checks that s is well formed, signed by a key of
// trusted, that the key's scope covers s.App, and that the signature
// covers s's current content.
func VerifyStatement(s *Statement, trusted Keyring) error {
	if s == nil || s.Signature == "" || s.Signer == "" {
		return ErrNoStatement
	}
	if err := checkShape(s); err != nil {
		return err
	}
	return verifySigned(trusted, s.Signer, s.Signature, statementBytes(s), s.App)
}

// verifySigned checks that signature, by signer, covers msg, that signer
// is a trusted key, and that its scope covers app: the checks every signed
// statement (deploy, rollback, removal, purge) shares.
func verifySigned(trusted Keyring, signer, signature string, msg []byte, app string) error {
	pub, err := ParsePublicKey(signer)
	if err != nil {
		return fmt.Errorf("%w: signer: %w", ErrBadStatement, err)
	}
	k, ok := trusted.lookup(pub)
	if !ok {
		return fmt.Errorf("%w (signer %s)", ErrUntrustedKey, signer)
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || !ed25519.Verify(pub, msg, sig) {
		return ErrBadSignature
	}
	if !k.Allows(app) {
		return fmt.Errorf("%w: %s may sign %s, not %q", ErrOutOfScope, k.Name(), k.scope(), app)
	}
	return nil
}

func checkShape(s *Statement) error {
	if !cache.ValidLabel(s.App) {
		return fmt.Errorf("%w: app: %q is not 1-63 of a-z 0-9 -", ErrBadStatement, s.App)
	}
	if s.Seq <= 0 || s.Seq > MaxSeq {
		return fmt.Errorf("%w: seq: %d is not in 1..%d", ErrBadStatement, s.Seq, MaxSeq)
	}
	switch s.Action {
	case ActDeploy, ActActivate:
		if len(s.Manifest) != 64 {
			return fmt.Errorf("%w: %s without the manifest it makes serve", ErrBadStatement, s.Action)
		}
	case ActRemove:
		if s.Manifest != "" || s.Version != 0 {
			return fmt.Errorf("%w: a removal names no version", ErrBadStatement)
		}
	default:
		return fmt.Errorf("%w: action: %q is not deploy, activate or remove", ErrBadStatement, s.Action)
	}
	if s.Action == ActActivate && s.Version <= 0 {
		return fmt.Errorf("%w: activate without a version", ErrBadStatement)
	}
	return nil
}

// Describes checks that s orders what a change does: app, action, and
// for a version that serves after it, that version's manifest (and for an
// activation, its number). removed and m describe the change (m nil when
// removed).
func (s *Statement) Describes(app string, removed bool, version int, m *cache.Manifest) error {
	if s == nil {
		return ErrNoStatement
	}
	if s.App != app {
		return fmt.Errorf("%w: signed for app %q, not %q", ErrBadStatement, s.App, app)
	}
	if removed != (s.Action == ActRemove) {
		return fmt.Errorf("%w: signed as %s", ErrBadStatement, s.Action)
	}
	if removed {
		return nil
	}
	if m == nil || ManifestHash(m) != s.Manifest {
		return fmt.Errorf("%w: signed for another version's manifest", ErrBadStatement)
	}
	if s.Action == ActActivate && s.Version != version {
		return fmt.Errorf("%w: signed to activate v%d, not v%d", ErrBadStatement, s.Version, version)
	}
	return nil
}
