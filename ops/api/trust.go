package api

// PathTrustKeys is GET: the deploy keys the node trusts (TrustKeys).
const PathTrustKeys = "/v1/trust/keys"

// TrustKeys lists the deploy keys a node trusts, with their scopes.
type TrustKeys struct {
	Keys []TrustKey `json:"keys"`
}

// TrustKey is one trusted deploy key: its fingerprint (the first 8 bytes
// of the public key's sha256, in hex, as manifests' signers are shown),
// where it came from, and the app names or patterns it may sign for
// (empty: every app).
type TrustKey struct {
	Fingerprint string   `json:"fingerprint"`
	Source      string   `json:"source,omitempty"`
	Apps        []string `json:"apps,omitempty"`
}
