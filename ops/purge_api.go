package ops

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/edgecdn/edge/edge/httpcache"
	"github.com/edgecdn/edge/ops/api"
)

func (a *Admin) routePurge(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/purge", a.purge)
}

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
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body must be JSON {url|prefix|tag, soft}: "+err.Error())
		return
	}
	p, err := httpcache.ParsePurge(req.URL, req.Prefix, req.Tag, req.Soft)
	if errors.Is(err, httpcache.ErrBadPurge) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	start := time.Now()
	n := hc.Purge(p)
	nodes := 1
	if a.cfg.MeshPurge != nil {
		body, _ := json.Marshal(p)
		others, err := a.cfg.MeshPurge(body)
		if err != nil {
			a.log.Warn("purge not sent to the mesh", "err", err)
		}
		nodes += others
	}
	took := time.Since(start)
	a.log.Info("purge", "url", req.URL, "prefix", req.Prefix, "tag", req.Tag, "soft", req.Soft, "purged", n, "nodes", nodes, "took", took)
	writeJSON(w, http.StatusOK, api.PurgeResponse{Purged: n, Nodes: nodes, Seconds: took.Seconds()})
}
