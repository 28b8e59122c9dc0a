package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/edgecdn/edge/gossip"
	"github.com/edgecdn/edge/ops/api"
	edgetls "github.com/edgecdn/edge/tls"
)

// shareCerts makes the mesh share m's certificates with the members and
// list them to members asking.
func shareCerts(w *meshWiring, m *edgetls.Manager) {
	w.certFiles = certFilesOf(m)
	if m != nil {
		w.certList = func() any { return m.Certs() }
	}
}

// memberCerts is every member's certificate list, for edge certs --members.
func (w *meshWiring) memberCerts(ctx context.Context) ([]api.MemberCerts, error) {
	if w.mesh == nil {
		return nil, errNoMesh
	}
	var out []api.MemberCerts
	for _, mc := range w.mesh.MemberCerts(ctx) {
		m := api.MemberCerts{Name: mc.Name, Error: mc.Error}
		if mc.Error == "" {
			if err := json.Unmarshal(mc.Certs, &m.Certs); err != nil {
				m.Error = fmt.Sprintf("unreadable list: %v", err)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// certFilesOf is what the peer endpoint answers members asking for this
// node's certificates and challenges (nil: the node has no HTTPS).
func certFilesOf(m *edgetls.Manager) gossip.CertFiles {
	if m == nil || !m.ACME() {
		return nil
	}
	return func(kind, name string) ([]gossip.CertFile, error) {
		files, err := m.ExportFiles(kind, name)
		out := make([]gossip.CertFile, len(files))
		for i, f := range files {
			out[i] = gossip.CertFile{Key: f.Key, Value: f.Value}
		}
		return out, err
	}
}

// useMeshCerts lets the certificate manager order through the mesh once
// the node joined it.
func useMeshCerts(m *edgetls.Manager, w *meshWiring) {
	if m != nil && w.mesh != nil {
		m.UseMesh(meshPeers{w.mesh})
	}
}

// meshPeers adapts the mesh to edgetls.Peers.
type meshPeers struct{ m *gossip.Mesh }

func (p meshPeers) Self() string      { return p.m.Name() }
func (p meshPeers) Members() []string { return p.m.AliveMembers() }

func (p meshPeers) Fetch(ctx context.Context, member, kind, name string) ([]edgetls.File, error) {
	files, err := p.m.FetchCertFiles(ctx, member, kind, name)
	if errors.Is(err, gossip.ErrNoCertSharing) {
		return nil, errors.Join(err, edgetls.ErrNoSharing)
	}
	if err != nil {
		return nil, err
	}
	out := make([]edgetls.File, len(files))
	for i, f := range files {
		out[i] = edgetls.File{Key: f.Key, Value: f.Value}
	}
	return out, nil
}
