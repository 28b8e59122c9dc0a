package trust

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/edgecdn/edge/cache"
)

// PurgeStatement is a deploy key holder's signed order to purge cached
// responses of one app (docs/cdn.md). Purge is the purge request as the
// admin API takes it ({"url"|"prefix"|"tag", "soft"}), opaque here; a
// node applies it to that app's entries only. ID names the statement so
// that each node applies it once; Time bounds its life: a node refuses a
// statement older than it remembers ids for, so one cannot be replayed
// after its id has been forgotten.
type PurgeStatement struct {
	App       string          `json:"app"`
	Purge     json.RawMessage `json:"purge"`
	ID        string          `json:"id"`
	Time      time.Time       `json:"time"`
	Signer    string          `json:"signer"`
	Signature string          `json:"signature,omitempty"`
}

// ErrStalePurge is returned for a purge statement older than a node
// accepts (or dated too far in the future).
var ErrStalePurge = errors.New("purge statement too old or from the future")

// NewPurgeStatement is an unsigned statement purging purge of app, now,
// with a fresh random id.
func NewPurgeStatement(app string, purge []byte) *PurgeStatement {
	var id [16]byte
	_, _ = rand.Read(id[:])
	return &PurgeStatement{App: app, Purge: purge, ID: hex.EncodeToString(id[:]), Time: time.Now().UTC()}
}

func purgeBytes(p *PurgeStatement) []byte {
	c := *p
	c.Signature = ""
	c.Time = c.Time.UTC()
	b, _ := json.Marshal(c)
	return append([]byte("edge-purge-v1\n"), b...)
}

// SignPurge sets p's Signer and Signature with key.
func SignPurge(p *PurgeStatement, key ed25519.PrivateKey) {
	p.Signer = base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	p.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, purgeBytes(p)))
}

// VerifyPurge checks that p is well formed, dated within maxAge of now
// (and not more than maxSkew ahead), signed by a key of trusted whose
// scope covers p.App, and that the signature covers p's content.
func VerifyPurge(p *PurgeStatement, trusted Keyring, now time.Time, maxAge time.Duration) error {
	const maxSkew = time.Minute
	if p == nil || p.Signature == "" || p.Signer == "" {
		return fmt.Errorf("%w (a purge for the mesh is signed with a deploy key: edge purge --app APP --key FILE)", ErrNoStatement)
	}
	if !cache.ValidLabel(p.App) {
		return fmt.Errorf("%w: app: %q is not 1-63 of a-z 0-9 -", ErrBadStatement, p.App)
	}
	if len(p.ID) != 32 || len(p.Purge) == 0 {
		return fmt.Errorf("%w: purge without an id or a body", ErrBadStatement)
	}
	if age := now.Sub(p.Time); age > maxAge || age < -maxSkew {
		return fmt.Errorf("%w: dated %s", ErrStalePurge, p.Time.Format(time.RFC3339))
	}
	return verifySigned(trusted, p.Signer, p.Signature, purgeBytes(p), p.App)
}
