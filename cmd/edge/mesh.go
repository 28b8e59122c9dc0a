package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/deploy"
	"github.com/edgecdn/edge/edge/httpcache"
	"github.com/edgecdn/edge/gossip"
	"github.com/edgecdn/edge/gossip/state"
	"github.com/edgecdn/edge/gossip/trust"
	"github.com/edgecdn/edge/modules"
	"github.com/edgecdn/edge/ops"
	"github.com/edgecdn/edge/ops/api"
)

// defaultGossip is where a node gossips when --join is given alone.
const defaultGossip = "0.0.0.0:7946"

// meshWiring connects the deployer and the mesh, which are built in turn:
// the deployer's OnChange publishes through the mesh once it exists.
type meshWiring struct {
	clock *state.Clock
	mesh  *gossip.Mesh
	// httpCache applies purges other members publish (http_cache_wiring.go),
	// to the objects of the apps router gives their hosts.
	httpCache *httpcache.Cache
	// certFiles shares this node's certificates with members (tls_mesh_wiring.go).
	certFiles gossip.CertFiles
	certList  func() any
	// artifacts serves peers' artifacts to the module loader (artifact_share.go).
	artifacts peerArtifacts
	router    *edge.Router
}

// nodeName is --node-name, else the hostname.
func nodeName(cfg serveConfig) string {
	if cfg.NodeName != "" {
		return cfg.NodeName
	}
	h, err := os.Hostname()
	if err != nil {
		return "edge"
	}
	return h
}

// prepareMesh returns the ledger that stamps this node's changes in the
// mesh's order and the hook the deployer publishes changes through.
func prepareMesh(cfg serveConfig) (*meshWiring, *state.Ledger, func(*state.AppState)) {
	w := &meshWiring{clock: state.NewClock(nil)}
	if !cfg.meshOn() {
		return w, nil, nil
	}
	ledger := &state.Ledger{Node: nodeName(cfg), Clock: w.clock.Now}
	ledger.Floor = func(app string) (int, int) {
		if w.mesh == nil {
			return 0, 0
		}
		if best := w.mesh.Best(app); best != nil {
			return best.Stamp.Gen, best.Version
		}
		return 0, 0
	}
	return w, ledger, func(st *state.AppState) {
		if w.mesh != nil {
			w.mesh.Publish(st)
		}
	}
}

// startMesh joins the mesh when --gossip or --join is given.
func (w *meshWiring) start(cfg serveConfig, store *cache.Cache, engine *modules.Engine, deployer *deploy.Deployer, trusted trust.Keyring, srv *edge.Server, log *slog.Logger) error {
	if !cfg.meshOn() {
		return nil
	}
	if len(cfg.GossipKeys) == 0 {
		return gossip.ErrNoKey
	}
	var keys [][]byte
	for _, k := range cfg.GossipKeys {
		key, err := gossip.LoadKey(k)
		if err != nil {
			return err
		}
		keys = append(keys, key)
	}
	bind := cfg.Gossip
	if bind == "" {
		bind = defaultGossip
	}
	fp := engine.Fingerprint()
	if cfg.GossipRetention < 0 {
		return fmt.Errorf("--gossip-retention %s: a duration of 0 (the default, 168h) or more", cfg.GossipRetention)
	}
	if err := cfg.gossipTimingSettings.check(); err != nil {
		return err
	}
	nodeKey, err := loadOrCreateNodeKey(cfg.Data)
	if err != nil {
		return err
	}
	public := srv.HTTPAddr()
	if public == "" {
		public = srv.HTTPSAddr()
	}
	m, err := gossip.New(gossip.Config{
		Name: nodeName(cfg), Region: cfg.Region, WAN: cfg.GossipWAN, MaxRTT: cfg.GossipMaxRTT, Bind: bind, Join: cfg.Join, Keys: keys, Peer: cfg.Peer,
		Meta: gossip.Meta{
			Region: cfg.Region, Arch: runtime.GOOS + "/" + runtime.GOARCH, Engine: hex.EncodeToString(fp[:8]),
			Public: public, Software: version,
		},
		Trusted: trusted, Cache: store, Applier: applier{deployer}, Clock: w.clock, Log: log,
		OnPurge: w.applyPurge(log), OnPurgeGap: w.purgeGap(log), CertFiles: w.certFiles, CertList: w.certList,
		NodeKey: nodeKey, Retention: cfg.GossipRetention,
	})
	if err != nil {
		return err
	}
	w.artifacts.mesh.Store(m)
	if err := m.Start(); err != nil {
		return err
	}
	w.mesh = m
	return nil
}

// stop leaves the mesh gracefully.
func (w *meshWiring) stop() error {
	if w.mesh == nil {
		return nil
	}
	return w.mesh.Stop()
}

// members is the admin API's GET /v1/members.
func (w *meshWiring) members(ctx context.Context) (*api.Members, error) {
	if w.mesh == nil {
		return nil, errNoMesh
	}
	members := w.mesh.Members(ctx)
	if members == nil {
		members = []api.Member{}
	}
	return &api.Members{Self: w.mesh.Name(), Members: members}, nil
}

var errNoMesh = errors.New("this node is not in a mesh (edge serve --gossip ADDR --join ADDR --gossip-key KEY)")

// applier adapts the deployer to gossip.Applier.
type applier struct{ d *deploy.Deployer }

func (a applier) ApplyRemote(rec gossip.Record) error { return a.d.ApplyRemote(rec) }
func (a applier) States() ([]gossip.Record, error)    { return a.d.States() }

// banner line for the mesh.
func (w *meshWiring) bannerLine() string {
	if w.mesh == nil {
		return ""
	}
	return fmt.Sprintf("mesh:  node %s gossip %s peer %s", w.mesh.Name(), w.mesh.Addr(), w.mesh.PeerAddr())
}

// gossipBytes is the mesh's traffic for /metrics (zero outside a mesh).
func (w *meshWiring) gossipBytes() (sent, received int64) {
	if w.mesh == nil {
		return 0, 0
	}
	return w.mesh.Bytes()
}

// refused counts the states the mesh refused, for /metrics (0: no mesh yet).
func (w *meshWiring) refused() int64 {
	if w.mesh == nil {
		return 0
	}
	return w.mesh.Refused()
}

// keyring is the live gossip keyring for the admin API (nil: no mesh yet).
func (w *meshWiring) keyring() ops.Keyring {
	if w.mesh == nil {
		return nil
	}
	return w.mesh.Keyring()
}
