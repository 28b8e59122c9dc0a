package ops

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/edgecdn/edge/edge/httpcache"
	"github.com/edgecdn/edge/gossip/trust"
	"github.com/edgecdn/edge/ops/api"
)

// maxPurgeAge is how old a signed purge may be when it reaches the node:
// the mesh remembers statements as long (gossip's purgeMemory).
const maxPurgeAge = 10 * time.Minute

func (a *Admin) routePurge(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/purge", a.purge)
}

// purge applies a purge request here. A signed one (Statement) is checked
// against the node's trusted deploy keys, limited to its app's objects,
// and sent to the mesh; an unsigned one, guarded by the admin token
// alone, purges this node only.
func (a *Admin) purge(w http.ResponseWriter, r *http.Request) {
	var hc *httpcache.Cache
	if a.cfg.Handler != nil {
		hc = a.cfg.Handler.HTTPCache()
	}
	if hc == nil {
		writeError(w, http.StatusNotImplemented, "this node has no HTTP cache")
		return
	}
	var req api.PurgeRequest
	if err := decodePurge(http.MaxBytesReader(w, r.Body, 64<<10), &req); err != nil {
		writeError(w, http.StatusBadRequest, "body must be JSON {url|prefix|tag, soft} or {statement}: "+err.Error())
		return
	}
	st := req.Statement
	if st != nil {
		if err := trust.VerifyPurge(st, a.cfg.Trusted, time.Now(), maxPurgeAge); err != nil {
			writeError(w, http.StatusForbidden, "purge refused: "+err.Error())
			return
		}
		req = api.PurgeRequest{}
		if err := decodePurge(bytes.NewReader(st.Purge), &req); err != nil || req.Statement != nil {
			writeError(w, http.StatusBadRequest, "the signed purge is not {url|prefix|tag, soft}")
			return
		}
	}
	p, err := httpcache.ParsePurge(req.URL, req.Prefix, req.Tag, req.Soft)
	if errors.Is(err, httpcache.ErrBadPurge) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	start := time.Now()
	app := ""
	p.Issued = start
	if st != nil {
		app = st.App
		p = a.cfg.Handler.ScopedPurge(p, app)
		p.Issued = st.Time
	}
	n := hc.Purge(p)
	nodes := 1
	if st != nil && a.cfg.MeshPurge != nil {
		others, err := a.cfg.MeshPurge(st)
		if err != nil {
			a.log.Warn("purge not sent to the mesh", "err", err)
		}
		nodes += others
	}
	took := time.Since(start)
	a.log.Info("purge", "app", app, "signed", st != nil, "url", req.URL, "prefix", req.Prefix, "tag", req.Tag,
		"soft", req.Soft, "purged", n, "nodes", nodes, "took", took)
	writeJSON(w, http.StatusOK, api.PurgeResponse{Purged: n, Nodes: nodes, Seconds: took.Seconds()})
}

func decodePurge(r interface{ Read([]byte) (int, error) }, req *api.PurgeRequest) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	return dec.Decode(req)
}
