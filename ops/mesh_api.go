package ops

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"

	"github.com/edgecdn/edge/ops/api"
)

// Keyring is the live gossip keyring (memberlist.Keyring): a rotation
// installs the new key everywhere, makes it the one that encrypts
// everywhere, then removes the old one everywhere, without downtime.
type Keyring interface {
	AddKey(key []byte) error
	UseKey(key []byte) error
	RemoveKey(key []byte) error
	GetKeys() [][]byte
	GetPrimaryKey() []byte
}

func (a *Admin) routeMesh(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/members", a.members)
	mux.HandleFunc("GET /v1/gossip/keys", a.keysList)
	mux.HandleFunc("POST /v1/gossip/keys", a.keysChange)
}

func (a *Admin) members(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Members == nil {
		writeError(w, http.StatusNotImplemented, "this node is not in a mesh")
		return
	}
	v, err := a.cfg.Members(r.Context())
	if err != nil {
		writeError(w, http.StatusNotImplemented, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// KeyFingerprint names a gossip key without revealing it.
func KeyFingerprint(k []byte) string {
	s := sha256.Sum256(k)
	return hex.EncodeToString(s[:8])
}

// keyring is the live keyring, or nil with a 501 written.
func (a *Admin) keyring(w http.ResponseWriter) Keyring {
	var k Keyring
	if a.cfg.Keyring != nil {
		k = a.cfg.Keyring()
	}
	if k == nil {
		writeError(w, http.StatusNotImplemented, "this node is not in a mesh")
	}
	return k
}

func (a *Admin) keysList(w http.ResponseWriter, _ *http.Request) {
	if k := a.keyring(w); k != nil {
		writeJSON(w, http.StatusOK, listKeys(k))
	}
}

func listKeys(k Keyring) api.KeysResponse {
	resp := api.KeysResponse{Primary: KeyFingerprint(k.GetPrimaryKey()), Keys: []string{}}
	for _, k := range k.GetKeys() {
		resp.Keys = append(resp.Keys, KeyFingerprint(k))
	}
	return resp
}

func (a *Admin) keysChange(w http.ResponseWriter, r *http.Request) {
	ring := a.keyring(w)
	if ring == nil {
		return
	}
	var req api.KeyRequest
	if !readJSON(w, r, &req) {
		return
	}
	key, err := base64.StdEncoding.DecodeString(req.Key)
	if err != nil {
		writeError(w, http.StatusBadRequest, "key: not base64")
		return
	}
	switch req.Op {
	case "install":
		err = ring.AddKey(key)
	case "use":
		err = ring.UseKey(key)
	case "remove":
		err = ring.RemoveKey(key)
	default:
		err = fmt.Errorf("op: %q, want install, use or remove", req.Op)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	a.log.Info("gossip keyring changed", "op", req.Op, "key", KeyFingerprint(key))
	writeJSON(w, http.StatusOK, listKeys(ring))
}

// MembersFunc lists the mesh's members for GET /v1/members.
type MembersFunc func(ctx context.Context) (*api.Members, error)
