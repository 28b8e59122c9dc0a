package app

import (
	"context"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/modules"
)

// PeerArtifacts fetches the artifact of a module compiled by another node
// of the mesh for this engine (gossip.Mesh.FetchArtifact): bytes already
// verified against the signature of the node that compiled them, and that
// node's name.
type PeerArtifacts func(ctx context.Context, k cache.ArtifactKey) (data []byte, from string, err error)

// peerArtifactWait bounds the whole search for a peer's artifact; past
// it the node compiles the module itself.
const peerArtifactWait = 30 * time.Second

// TrustPeerArtifacts makes the loader, before compiling a module it has
// no artifact of, load one a peer compiled (edge serve
// --trust-peer-artifacts): this runs native code another node produced,
// so it is off unless the operator opts in. Call before the first Load.
func (l *ModuleLoader) TrustPeerArtifacts(f PeerArtifacts) { l.peers = f }

// fromPeer loads d from a peer's artifact and stores it in the cache, or
// returns nil: no peer has one, or it does not load (the caller compiles).
func (l *ModuleLoader) fromPeer(name string, d cache.Digest) *modules.Module {
	if l.peers == nil || l.cache == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), peerArtifactWait)
	defer cancel()
	start := time.Now()
	k := l.key(d)
	data, from, err := l.peers(ctx, k)
	if err != nil {
		l.log.Debug("no peer artifact, compiling", "module", name, "digest", d, "err", err)
		return nil
	}
	m, err := l.engine.Deserialize(name, data)
	if err != nil {
		l.log.Warn("peer artifact does not load, compiling", "module", name, "digest", d, "from", from, "err", err)
		return nil
	}
	if err := l.cache.PutArtifact(k, data, name, l.engine.Target()); err != nil {
		l.log.Warn("could not store a peer's artifact; the module still runs", "module", name, "err", err)
	}
	l.log.Info("loaded module from a peer's artifact", "module", name, "digest", d, "from", from, "duration", time.Since(start))
	return m
}
