package gossip

import "github.com/edgecdn/edge/gossip/trust"

// SetTrusted replaces the deploy keys gossiped states must be signed with
// (the node's SIGHUP reload of its --trust-key files).
func (m *Mesh) SetTrusted(keys trust.Keyring) { m.trusted.Store(&keys) }

// keys are the deploy keys in force: the last SetTrusted, else Config's.
func (m *Mesh) keys() trust.Keyring {
	if k := m.trusted.Load(); k != nil {
		return *k
	}
	return m.cfg.Trusted
}
