package gossip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// CertFile is one stored file of a TLS certificate the mesh shares: a
// certificate chain, its private key, its metadata, or the data of an
// ACME challenge in progress. Key is the storage key it lives under.
type CertFile struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
}

// CertFiles answers a member's request for the files of kind ("cert" or
// "challenge") for a host name. It returns none (and no error) when it
// holds nothing for the name. The peer channel calls it only for members
// authenticated by the gossip keyring (peer_tls.go): private keys travel
// encrypted, to members only.
type CertFiles func(kind, name string) ([]CertFile, error)

// Kinds of CertFiles requests.
const (
	CertKindCert      = "cert"
	CertKindChallenge = "challenge"
)

// maxCertFiles bounds a certificate answer read from a peer: a chain, a
// key and a small JSON document are a few KiB.
const maxCertFiles = 1 << 20

// ErrNoCertSharing is a member whose peer endpoint does not share
// certificates (TLS off there, or older software): it takes no part in
// ordering them.
var ErrNoCertSharing = errors.New("gossip: the member does not share certificates")

// certRoutes adds the certificate sharing routes to the peer endpoint.
func (p *peerServer) certRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/tls/{kind}/{name}", p.certFiles)
	mux.HandleFunc("GET /v1/tls/list", p.certList)
}

// certList is GET /v1/tls/list: this node's certificates as it lists them.
func (p *peerServer) certList(w http.ResponseWriter, _ *http.Request) {
	fn := p.m.cfg.CertList
	if fn == nil {
		http.Error(w, "this node has no certificates", http.StatusNotImplemented)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(fn())
}

// MemberCerts is one member's certificate list, as its CertList gave it.
type MemberCerts struct {
	Name  string          `json:"name"`
	Certs json.RawMessage `json:"certs,omitempty"`
	Error string          `json:"error,omitempty"`
}

// MemberCerts asks every alive member (in parallel, within two seconds)
// for its certificate list; this node's own comes from its CertList.
func (m *Mesh) MemberCerts(ctx context.Context) []MemberCerts {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	members := m.AliveMembers()
	out := make([]MemberCerts, len(members))
	var wg sync.WaitGroup
	for i, name := range members {
		out[i].Name = name
		wg.Go(func() {
			raw, err := m.certListOf(ctx, name)
			if err != nil {
				out[i].Error = err.Error()
				return
			}
			out[i].Certs = raw
		})
	}
	wg.Wait()
	return out
}

func (m *Mesh) certListOf(ctx context.Context, member string) (json.RawMessage, error) {
	if member == m.cfg.Name {
		if m.cfg.CertList == nil {
			return nil, ErrNoCertSharing
		}
		return json.Marshal(m.cfg.CertList())
	}
	addr := m.peerAddrOf(member)
	if addr == "" {
		return nil, errors.New("no peer endpoint")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/v1/tls/list", nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("peer answered %s", resp.Status)
	}
	var raw json.RawMessage
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxCertFiles)).Decode(&raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// certFiles is GET /v1/tls/{kind}/{name} on the peer endpoint.
func (p *peerServer) certFiles(w http.ResponseWriter, r *http.Request) {
	fn := p.m.cfg.CertFiles
	if fn == nil {
		http.Error(w, "this node does not share certificates", http.StatusNotImplemented)
		return
	}
	kind := r.PathValue("kind")
	if kind != CertKindCert && kind != CertKindChallenge {
		http.Error(w, "unknown kind", http.StatusBadRequest)
		return
	}
	files, err := fn(kind, r.PathValue("name"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if files == nil {
		files = []CertFile{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(files)
}

// FetchCertFiles asks member, over the peer channel, for the files of
// kind for name. A member that does not share certificates gives
// ErrNoCertSharing.
func (m *Mesh) FetchCertFiles(ctx context.Context, member, kind, name string) ([]CertFile, error) {
	addr := m.peerAddrOf(member)
	if addr == "" {
		return nil, fmt.Errorf("gossip: %s is not an alive member with a peer endpoint", member)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/v1/tls/"+kind+"/"+name, nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotImplemented, http.StatusNotFound:
		return nil, fmt.Errorf("%s: %w", member, ErrNoCertSharing)
	default:
		return nil, fmt.Errorf("gossip: %s answered %s", member, resp.Status)
	}
	var files []CertFile
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxCertFiles)).Decode(&files); err != nil {
		return nil, fmt.Errorf("gossip: certificate files from %s: %w", member, err)
	}
	return files, nil
}

// peerAddrOf is the peer endpoint of an alive member ("" if none).
func (m *Mesh) peerAddrOf(member string) string {
	for _, n := range m.liveNodes() {
		if n.Name == member {
			return decodeMeta(n.Meta).Peer
		}
	}
	return ""
}

// AliveMembers lists the names of the alive members with a peer
// endpoint, this node included, sorted: the set certificate ordering is
// decided over.
func (m *Mesh) AliveMembers() []string {
	out := []string{m.cfg.Name}
	for _, n := range m.liveNodes() {
		if n.Name != m.cfg.Name && decodeMeta(n.Meta).Peer != "" {
			out = append(out, n.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
