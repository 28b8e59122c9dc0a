package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/spf13/pflag"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/gossip"
)

// artifactShareSettings: whether this node loads AOT artifacts its peers
// compiled (gossip/artifact_share.go).
type artifactShareSettings struct {
	// TrustPeerArtifacts loads, before compiling a module, the artifact a
	// member of the same engine compiled, signed by that member's node
	// key. Off by default: it runs native code another node produced.
	TrustPeerArtifacts bool `toml:"trust_peer_artifacts"`
}

func artifactShareFlags(fs *pflag.FlagSet, s *artifactShareSettings) {
	fs.BoolVar(&s.TrustPeerArtifacts, "trust-peer-artifacts", s.TrustPeerArtifacts,
		"load compiled modules (AOT artifacts) that mesh members of the same engine compiled, signed by their node key, instead of compiling them here: trusts every member holding the gossip key to run native code on this node")
}

// peerArtifacts hands the module loader the mesh's artifact fetch; the
// mesh starts after the apps are loaded, and until then there is no peer
// to ask.
type peerArtifacts struct{ mesh atomic.Pointer[gossip.Mesh] }

func (p *peerArtifacts) fetch(ctx context.Context, k cache.ArtifactKey) ([]byte, string, error) {
	m := p.mesh.Load()
	if m == nil {
		return nil, "", gossip.ErrNoPeerArtifact
	}
	return m.FetchArtifact(ctx, k)
}

// shareArtifacts lets loader take its peers' artifacts if the node is in
// a mesh and --trust-peer-artifacts is given.
func (w *meshWiring) shareArtifacts(cfg serveConfig, loader *app.ModuleLoader) {
	if cfg.meshOn() && cfg.TrustPeerArtifacts {
		loader.TrustPeerArtifacts(w.artifacts.fetch)
	}
}

// nodeKeyFile holds the node's identity key in its data dir: "edge-node-key
// BASE64(32-byte seed)", mode 0600, made at the first start in a mesh. It
// signs the artifacts the node serves to its peers.
const (
	nodeKeyFile = "node.key"
	nodeKeyTag  = "edge-node-key"
)

// loadOrCreateNodeKey reads the node key from the data dir, creating it
// the first time.
func loadOrCreateNodeKey(data string) (ed25519.PrivateKey, error) {
	path := filepath.Join(data, nodeKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, err
		}
		line := nodeKeyTag + " " + base64.StdEncoding.EncodeToString(seed) + "\n"
		if err := cache.WriteNewFile(path, []byte(line), 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("node key: %w", err)
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.TrimPrefix(string(b), nodeKeyTag)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("node key %s: not %q and a base64 seed of 32 bytes (delete it to make a new one)", path, nodeKeyTag)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
