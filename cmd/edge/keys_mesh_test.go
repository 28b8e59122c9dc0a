package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestMeshNeedsTrustKey: a node joining a mesh without --trust-key is
// refused before it creates a dev key. It used to create and trust its
// own dev key, so a deploy to it served there and was refused by every
// other member, whose dev keys differ (docs/mesh.md: a mesh has no
// dev-key mode).
func TestMeshNeedsTrustKey(t *testing.T) {
	for name, cfg := range map[string]serveConfig{
		"gossip": {Gossip: "127.0.0.1:7946"},
		"join":   {Join: []string{"127.0.0.1:7946"}},
	} {
		cfg.Data = t.TempDir()
		if _, _, err := trustedKeys(cfg); !errors.Is(err, errMeshNeedsTrustKey) {
			t.Errorf("%s: got %v, want %v", name, err, errMeshNeedsTrustKey)
		}
		if _, err := os.Stat(filepath.Join(cfg.Data, devKey+".key")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a dev key was created (%v)", name, err)
		}
	}
	// A single node still gets its dev key.
	if _, note, err := trustedKeys(serveConfig{Data: t.TempDir()}); err != nil {
		t.Fatalf("single node: %v (%s)", err, note)
	}
}
