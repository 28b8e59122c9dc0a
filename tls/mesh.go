package edgetls

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"strings"
)

// Peers is what the manager needs of the mesh to place one ACME order per
// host name for the whole mesh, with no shared database: who is alive,
// and the certificate files and challenge data a member holds, fetched
// over the mesh's authenticated, encrypted peer channel.
type Peers interface {
	// Self is this node's member name.
	Self() string
	// Members lists the alive members' names, this node included.
	Members() []string
	// Fetch asks member for its files of kind (KindCert, KindChallenge)
	// for name; none when it holds none. ErrNoSharing (wrapped) when the
	// member takes no part in certificate sharing.
	Fetch(ctx context.Context, member, kind, name string) ([]File, error)
}

// File is one storage entry shared between members: Key as certmagic
// names it, Value its bytes.
type File struct {
	Key   string
	Value []byte
}

// Kinds of files Peers.Fetch and ExportFiles deal in.
const (
	KindCert      = "cert"      // a certificate chain, its key, its metadata
	KindChallenge = "challenge" // an ACME challenge in progress
)

// ErrNoSharing is a member that does not share certificates (TLS off
// there): it is never waited for as the one to order.
var ErrNoSharing = errors.New("edgetls: member does not share certificates")

// Orderer is the member that orders name's certificate for the mesh:
// rendezvous hashing, the member with the highest sha256(name|member).
// Every member computing it over the same alive set agrees, and a member
// leaving moves only the names it ordered.
func Orderer(name string, members []string) string {
	best, bestSum := "", [32]byte{}
	for _, m := range members {
		sum := sha256.Sum256([]byte(name + "|" + m))
		if best == "" || string(sum[:]) > string(bestSum[:]) {
			best, bestSum = m, sum
		}
	}
	return best
}

// UseMesh makes the manager share certificates through p: from now on a
// name's certificate is ordered by its Orderer only; the others wait for
// it and copy it. Call it once the node joined the mesh; with
// Config.Mesh set, no order is placed before.
func (m *Manager) UseMesh(p Peers) {
	if p == nil || m.cfg.ACME == nil {
		return
	}
	m.peers.Store(&p)
	m.meshOnce.Do(func() { close(m.meshReady) })
}

// meshPeers is the mesh in use (nil: none, or not joined yet).
func (m *Manager) meshPeers() Peers {
	if p := m.peers.Load(); p != nil {
		return *p
	}
	return nil
}

// ExportFiles is what this node answers a member asking for the files of
// kind for name over the peer channel: the certificate, key and metadata
// certmagic stored for it, or the challenge data of an order in progress.
// Only names an app serves are answered; none without ACME.
func (m *Manager) ExportFiles(kind, name string) ([]File, error) {
	if kind != KindCert && kind != KindChallenge {
		return nil, errors.New("edgetls: unknown kind of certificate files")
	}
	if !validDNSName(name) {
		return nil, errors.New("edgetls: not a host name")
	}
	if m.store == nil || !m.public(name) || !m.cfg.Names.serves(name) {
		return nil, nil
	}
	ctx := context.Background()
	if kind == KindChallenge {
		return m.store.files(ctx, "acme", func(k string) bool { return isChallengeKey(k, name) })
	}
	files, err := m.store.files(ctx, "certificates", func(k string) bool { return isCertKey(k, name) })
	if err != nil || len(files) != 3 {
		return nil, err // a set half written is not shared
	}
	return files, nil
}

// isCertKey reports whether key is one of certmagic's three files of
// name's certificate: certificates/ISSUER/NAME/NAME.{crt,key,json}.
func isCertKey(key, name string) bool {
	parts := strings.Split(key, "/")
	if len(parts) != 4 || parts[0] != "certificates" || parts[1] == "" || parts[2] != name {
		return false
	}
	switch parts[3] {
	case name + ".crt", name + ".key", name + ".json":
		return true
	}
	return false
}

// isChallengeKey reports whether key is certmagic's distributed challenge
// data for name: acme/ISSUER/challenge_tokens/NAME.json.
func isChallengeKey(key, name string) bool {
	parts := strings.Split(key, "/")
	return len(parts) == 4 && parts[0] == "acme" && parts[1] != "" && parts[2] == "challenge_tokens" && parts[3] == name+".json"
}

// challengeName is the host name of a challenge data key ("" if key is
// not one).
func challengeName(key string) string {
	parts := strings.Split(key, "/")
	if len(parts) != 4 || parts[0] != "acme" || parts[2] != "challenge_tokens" {
		return ""
	}
	name, ok := strings.CutSuffix(parts[3], ".json")
	if !ok || !validDNSName(name) {
		return ""
	}
	return name
}

// files loads every key under dir that keep accepts.
func (s *Storage) files(ctx context.Context, dir string, keep func(string) bool) ([]File, error) {
	keys, err := s.below(dir)
	if err != nil {
		return nil, err
	}
	var out []File
	for _, k := range keys {
		if !keep(k) {
			continue
		}
		v, err := s.Load(ctx, k)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, File{Key: k, Value: v})
	}
	return out, nil
}
