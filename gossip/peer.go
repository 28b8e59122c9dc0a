package gossip

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip/state"
)

// peerServer is the peer endpoint: blobs by digest and this node's app
// states, for members of the mesh only: TLS whose client certificate is
// derived from a key of the gossip keyring (see peerTLS).
type peerServer struct {
	m    *Mesh
	srv  *http.Server
	addr string
}

func startPeer(m *Mesh, addr string) (*peerServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gossip: listen peer %s: %w", addr, err)
	}
	p := &peerServer{m: m, addr: ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/blobs/{digest}", p.blob)
	mux.HandleFunc("GET /v1/status", p.status)
	p.certRoutes(mux) // peer_certs.go
	mux.HandleFunc("GET /v1/artifacts/{module}/{fingerprint}", p.artifact)
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	tl := tls.NewListener(ln, m.tls.server())
	go func() {
		if err := p.srv.Serve(tl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("peer listener stopped", "err", err)
		}
	}()
	return p, nil
}

func (p *peerServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
}

func (p *peerServer) blob(w http.ResponseWriter, r *http.Request) {
	d, err := cache.ParseDigest(r.PathValue("digest"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	br, err := p.m.cfg.Cache.OpenBlob(d)
	if err != nil {
		http.Error(w, "blob not stored here", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(br.Size(), 10))
	_, _ = io.Copy(w, br)
}

// PeerStatus is what GET /v1/status on the peer endpoint answers.
type PeerStatus struct {
	Name   string      `json:"name"`
	States []StateInfo `json:"states"`
}

// StateInfo is an app state without its manifest.
type StateInfo struct {
	App     string      `json:"app"`
	Version int         `json:"version"`
	Removed bool        `json:"removed,omitempty"`
	Stamp   state.Stamp `json:"stamp"`
}

func (p *peerServer) status(w http.ResponseWriter, _ *http.Request) {
	st, err := p.m.localStatus()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

func (m *Mesh) localStatus() (*PeerStatus, error) {
	states, err := m.cfg.Applier.States()
	if err != nil {
		return nil, err
	}
	st := &PeerStatus{Name: m.cfg.Name, States: []StateInfo{}}
	for _, s := range states {
		st.States = append(st.States, StateInfo{App: s.App, Version: s.Version, Removed: s.Removed, Stamp: s.Stamp})
	}
	return st, nil
}
