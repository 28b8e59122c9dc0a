package ops

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
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

// KeyRequest is the body of POST /v1/gossip/keys.
type KeyRequest struct {
	Op  string `json:"op"`  // install, use or remove
	Key string `json:"key"` // base64
}

// KeysResponse lists the keyring by fingerprint (sha256 of the key, first
// 8 bytes in hex): keys never leave the node.
type KeysResponse struct {
	Primary string   `json:"primary"`
	Keys    []string `json:"keys"`
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

func (a *Admin) keyring(w http.ResponseWriter) bool {
	if a.cfg.Keyring == nil {
		writeError(w, http.StatusNotImplemented, "this node is not in a mesh")
		return false
	}
	return true
}

func (a *Admin) keysList(w http.ResponseWriter, _ *http.Request) {
	if !a.keyring(w) {
		return
	}
	writeJSON(w, http.StatusOK, a.listKeys())
}

func (a *Admin) listKeys() KeysResponse {
	resp := KeysResponse{Primary: KeyFingerprint(a.cfg.Keyring.GetPrimaryKey()), Keys: []string{}}
	for _, k := range a.cfg.Keyring.GetKeys() {
		resp.Keys = append(resp.Keys, KeyFingerprint(k))
	}
	return resp
}

func (a *Admin) keysChange(w http.ResponseWriter, r *http.Request) {
	if !a.keyring(w) {
		return
	}
	var req KeyRequest
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
		err = a.cfg.Keyring.AddKey(key)
	case "use":
		err = a.cfg.Keyring.UseKey(key)
	case "remove":
		err = a.cfg.Keyring.RemoveKey(key)
	default:
		err = fmt.Errorf("op: %q, want install, use or remove", req.Op)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	a.log.Info("gossip keyring changed", "op", req.Op, "key", KeyFingerprint(key))
	writeJSON(w, http.StatusOK, a.listKeys())
}

// MembersFunc lists the mesh's members for GET /v1/members.
type MembersFunc func(ctx context.Context) (any, error)
