package deploy

import "github.com/edgecdn/edge/gossip/trust"

// SetTrusted replaces the deploy keys changes must be signed with (the
// node's SIGHUP reload of its --trust-key files). Changes verified from
// then on use the new keys; what is deployed stays.
func (d *Deployer) SetTrusted(keys trust.Keyring) { d.trusted.Store(&keys) }

// keys are the deploy keys in force: the last SetTrusted, else Config's.
func (d *Deployer) keys() trust.Keyring {
	if k := d.trusted.Load(); k != nil {
		return *k
	}
	return d.cfg.Trusted
}

// Trusted is the deploy keys in force and their scopes: for `edge keys`.
func (d *Deployer) Trusted() trust.Keyring { return d.keys() }
