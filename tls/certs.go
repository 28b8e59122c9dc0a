package edgetls

import (
	"time"
)

// CertInfo describes the certificate a served name gets.
type CertInfo struct {
	Name string `json:"name"`
	// Source is "acme", "dev-ca" (signed on demand by the local dev CA),
	// or "none" (ACME has not obtained one yet).
	Source string `json:"source"`
	// Issuer is the issuing CA's common name (ACME only).
	Issuer   string    `json:"issuer,omitempty"`
	NotAfter time.Time `json:"not_after,omitzero"`
}

// Certs lists every exact name the apps serve with its certificate.
func (m *Manager) Certs() []CertInfo {
	c := m.mcache.Load()
	var out []CertInfo
	for _, n := range m.cfg.Names.certifiable() {
		info := CertInfo{Name: n, Source: "dev-ca"}
		if m.public(n) {
			info.Source = "none"
			if c != nil {
				for _, cert := range c.AllMatchingCertificates(n) {
					if leaf := cert.Leaf; leaf != nil && leaf.NotAfter.After(info.NotAfter) {
						info.Source, info.Issuer, info.NotAfter = "acme", leaf.Issuer.CommonName, leaf.NotAfter
					}
				}
			}
		}
		out = append(out, info)
	}
	return out
}
