package ops

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/edgecdn/edge/ops/api"
)

func (a *Admin) routeTrust(mux *http.ServeMux) {
	mux.HandleFunc("GET "+api.PathTrustKeys, a.trustKeys)
}

// trustKeys lists the deploy keys the node trusts and their scopes.
func (a *Admin) trustKeys(w http.ResponseWriter, _ *http.Request) {
	if a.cfg.Deployer == nil {
		writeError(w, http.StatusNotImplemented, "this node takes no deploys")
		return
	}
	out := api.TrustKeys{Keys: []api.TrustKey{}}
	for _, k := range a.cfg.Deployer.Trusted() {
		sum := sha256.Sum256(k.Pub)
		out.Keys = append(out.Keys, api.TrustKey{Fingerprint: hex.EncodeToString(sum[:8]), Source: k.Source, Apps: k.Apps})
	}
	writeJSON(w, http.StatusOK, out)
}
