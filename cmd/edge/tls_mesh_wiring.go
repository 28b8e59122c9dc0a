package main

import (
	"context"
	"errors"

	"github.com/edgecdn/edge/gossip"
	edgetls "github.com/edgecdn/edge/tls"
)

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
