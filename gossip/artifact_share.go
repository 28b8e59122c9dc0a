package gossip

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/edgecdn/edge/cache"
)

// Sharing AOT artifacts. Compiling a large guest (the Go hello world:
// seconds) on every node of a mesh repeats the same work on identical
// engines. A node serves the artifacts in its cache on its peer endpoint,
// signed with its node key (an ed25519 key of its own, kept in its data
// dir, whose public half it advertises in its member metadata); a node
// that opts in (edge serve --trust-peer-artifacts) asks the members that
// advertise its own engine fingerprint for a module's artifact before
// compiling it, and loads it only if it is signed by the key the serving
// member advertises, over the module's digest, the receiver's full engine
// fingerprint and the artifact's sha256.
//
// Loading an artifact runs native code its compiler produced: the flag
// trusts every member holding the gossip key to compile honestly. The
// signature does not widen that trust; it binds each artifact to the
// member that vouches for it (logged), so that bytes altered in a node's
// cache or mixed up between modules or engines are refused, and an
// artifact is never taken for another module's or another engine's.
// Without the flag a node never asks; it still serves its own artifacts
// to members who do.

// artifactSigContext separates artifact signatures from any other
// signature a node key might make.
const artifactSigContext = "edge-artifact-v1\x00"

// artifactSigHeader carries the serving node's signature (base64).
const artifactSigHeader = "Edge-Artifact-Signature"

// maxArtifact bounds an artifact fetched from a peer.
const maxArtifact = 256 << 20

// artifactPeers is how many members are asked for an artifact before
// the node compiles it itself; artifactTimeout bounds each request.
const (
	artifactPeers   = 3
	artifactTimeout = 10 * time.Second
)

// Artifact sharing errors.
var (
	ErrNoPeerArtifact   = errors.New("gossip: no member serves this artifact")
	errArtifactSig      = errors.New("gossip: artifact signature does not verify against the member's node key")
	errArtifactTooLarge = fmt.Errorf("gossip: artifact over %d bytes", maxArtifact)
)

// artifactMessage is what a node key signs for an artifact.
func artifactMessage(k cache.ArtifactKey, data []byte) []byte {
	sum := sha256.Sum256(data)
	msg := make([]byte, 0, len(artifactSigContext)+96)
	msg = append(msg, artifactSigContext...)
	msg = append(msg, k.Module[:]...)
	msg = append(msg, k.Fingerprint[:]...)
	return append(msg, sum[:]...)
}

// SignArtifact signs data as the artifact of k with a node key.
func SignArtifact(key ed25519.PrivateKey, k cache.ArtifactKey, data []byte) []byte {
	return ed25519.Sign(key, artifactMessage(k, data))
}

// VerifyArtifact checks a node key's signature of data as k's artifact.
func VerifyArtifact(pub ed25519.PublicKey, k cache.ArtifactKey, data, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, artifactMessage(k, data), sig) {
		return errArtifactSig
	}
	return nil
}

// EncodeNodeKey is the form of a node's public key in member metadata.
func EncodeNodeKey(pub ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(pub) }

func decodeNodeKey(s string) ed25519.PublicKey {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil
	}
	return b
}

// artifact is GET /v1/artifacts/{module}/{fingerprint} on the peer
// endpoint: an artifact of this node's cache, signed with its node key.
func (p *peerServer) artifact(w http.ResponseWriter, r *http.Request) {
	key := p.m.cfg.NodeKey
	if key == nil {
		http.Error(w, "this node shares no artifacts", http.StatusNotFound)
		return
	}
	mod, err1 := cache.ParseDigest(r.PathValue("module"))
	fp, err2 := cache.ParseDigest(r.PathValue("fingerprint"))
	if err := errors.Join(err1, err2); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	k := cache.ArtifactKey{Module: mod, Fingerprint: fp}
	var data []byte
	if err := p.m.cfg.Cache.WithArtifact(k, func(b []byte) error { data = bytes.Clone(b); return nil }); err != nil {
		http.Error(w, "artifact not stored here", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set(artifactSigHeader, base64.StdEncoding.EncodeToString(SignArtifact(key, k, data)))
	_, _ = w.Write(data)
}

// artifactPeer is a member that may serve an artifact for this engine.
type artifactPeer struct {
	name, addr string
	pub        ed25519.PublicKey
}

// artifactPeers lists, shuffled, the live members that advertise this
// node's engine and a node key.
func (m *Mesh) artifactPeers() []artifactPeer {
	m.mu.Lock()
	engine := m.cfg.Meta.Engine
	m.mu.Unlock()
	engine = engine[:min(len(engine), 16)]
	var ps []artifactPeer
	for _, n := range m.liveNodes() {
		meta := decodeMeta(n.Meta)
		pub := decodeNodeKey(meta.Key)
		if n.Name == m.cfg.Name || meta.Peer == "" || pub == nil || engine == "" || meta.Engine != engine {
			continue
		}
		ps = append(ps, artifactPeer{name: n.Name, addr: meta.Peer, pub: pub})
	}
	rand.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
	return ps
}

// FetchArtifact asks up to three members of this node's engine for k's
// artifact and returns the first one signed by the node key its server
// advertises, with that member's name. A refused artifact (bad signature,
// too large) is logged with the member and the next one is asked;
// ErrNoPeerArtifact means no member served one: compile it.
func (m *Mesh) FetchArtifact(ctx context.Context, k cache.ArtifactKey) ([]byte, string, error) {
	peers := m.artifactPeers()
	var errs []error
	for _, p := range peers[:min(len(peers), artifactPeers)] {
		data, err := m.fetchArtifactFrom(ctx, p, k)
		if err == nil {
			return data, p.name, nil
		}
		if !errors.Is(err, cache.ErrNotFound) {
			m.log.Warn("peer artifact refused", "module", k.Module, "peer", p.name, "err", err)
		}
		errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
	}
	return nil, "", fmt.Errorf("%w: %w", ErrNoPeerArtifact, errors.Join(errs...))
}

func (m *Mesh) fetchArtifactFrom(ctx context.Context, p artifactPeer, k cache.ArtifactKey) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, artifactTimeout)
	defer cancel()
	url := "https://" + p.addr + "/v1/artifacts/" + k.Module.String() + "/" + k.Fingerprint.String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, cache.ErrNotFound
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("peer answered %s", resp.Status)
	case resp.ContentLength > maxArtifact:
		return nil, errArtifactTooLarge
	}
	sig, err := base64.StdEncoding.DecodeString(resp.Header.Get(artifactSigHeader))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, errArtifactSig
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxArtifact+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxArtifact {
		return nil, errArtifactTooLarge
	}
	if err := VerifyArtifact(p.pub, k, data, sig); err != nil {
		return nil, err
	}
	return data, nil
}
