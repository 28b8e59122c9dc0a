package ops

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/deploy"
	"github.com/edgecdn/edge/gossip/state"
	"github.com/edgecdn/edge/gossip/trust"
	"github.com/edgecdn/edge/ops/api"
)

type deployCounters struct{ blobs, bytes, deploys, refused atomic.Int64 }

// maxJSON caps JSON request bodies (a manifest of many files fits).
const maxJSON = 32 << 20

func (a *Admin) routeDeploy(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/blobs/missing", a.blobsMissing)
	mux.HandleFunc("PUT /v1/blobs/{digest}", a.blobPut)
	mux.HandleFunc("GET /v1/apps", a.appsList)
	mux.HandleFunc("POST /v1/apps/{name}/versions", a.versionSubmit)
	mux.HandleFunc("GET /v1/apps/{name}/versions", a.versionsList)
	mux.HandleFunc("GET /v1/apps/{name}/state", a.appState)
	mux.HandleFunc("POST /v1/apps/{name}/activate", a.versionActivate)
	mux.HandleFunc("DELETE /v1/apps/{name}", a.appRemove)
	mux.HandleFunc("GET /v1/stats", a.deployStats)
}

// readJSON decodes a size-limited body, refusing unknown fields.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "request body: "+err.Error())
		return false
	}
	return true
}

func (a *Admin) deployer(w http.ResponseWriter) bool {
	if a.cfg.Deployer == nil {
		writeError(w, http.StatusNotImplemented, "this node does not accept deploys")
		return false
	}
	return true
}

func (a *Admin) blobsMissing(w http.ResponseWriter, r *http.Request) {
	var req api.MissingRequest
	if !readJSON(w, r, &req) {
		return
	}
	ds := make([]cache.Digest, 0, len(req.Digests))
	for i, s := range req.Digests {
		d, err := cache.ParseDigest(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("digests[%d]: %v", i, err))
			return
		}
		ds = append(ds, d)
	}
	resp := api.MissingResponse{Missing: []string{}}
	for _, d := range a.cfg.Cache.Missing(ds) {
		resp.Missing = append(resp.Missing, d.String())
	}
	writeJSON(w, http.StatusOK, resp)
}

// blobPut stores a blob whose bytes must hash to the digest in the path.
// The cache streams it in chunks of its chunk size, each in its own short
// transaction, and deletes the chunks of an upload it refuses (too large,
// wrong digest, client gone).
func (a *Admin) blobPut(w http.ResponseWriter, r *http.Request) {
	d, err := cache.ParseDigest(r.PathValue("digest"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if r.ContentLength > a.cfg.MaxBlob {
		// Refused before a byte is read or stored: a chunk written and
		// then deleted still grows edge.db, which never shrinks.
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("blob of %d bytes over the limit of %d bytes", r.ContentLength, a.cfg.MaxBlob))
		return
	}
	if a.cfg.Cache.HasBlob(d) {
		writeJSON(w, http.StatusOK, api.BlobStored{Digest: d.String()})
		return
	}
	n, err := a.cfg.Cache.PutBlobVerified(r.Body, d, a.cfg.MaxBlob)
	switch {
	case errors.Is(err, cache.ErrDigestMismatch):
		writeError(w, http.StatusBadRequest, "blob does not match its digest: "+err.Error())
		return
	case errors.Is(err, cache.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("blob over the limit of %d bytes", a.cfg.MaxBlob))
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	a.counters.blobs.Add(1)
	a.counters.bytes.Add(n)
	writeJSON(w, http.StatusCreated, api.BlobStored{Digest: d.String(), Stored: true, Size: n})
}

func (a *Admin) appsList(w http.ResponseWriter, _ *http.Request) {
	if !a.deployer(w) {
		return
	}
	apps, err := a.cfg.Deployer.Apps()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, api.AppList{Apps: appStatuses(apps)})
}

func (a *Admin) versionSubmit(w http.ResponseWriter, r *http.Request) {
	if !a.deployer(w) {
		return
	}
	var req api.VersionRequest
	if !readJSON(w, r, &req) {
		return
	}
	m := req.Manifest
	if m.App != r.PathValue("name") {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("manifest is for app %q, not %q", m.App, r.PathValue("name")))
		return
	}
	if m.Version != 0 {
		writeError(w, http.StatusBadRequest, "version: assigned by the node, must not be set")
		return
	}
	res, err := a.cfg.Deployer.Deploy(&m, req.Statement)
	if err != nil {
		a.counters.refused.Add(1)
		a.log.Warn("deploy refused", "app", m.App, "err", trimBacktrace(err.Error()))
		writeDeployError(w, err)
		return
	}
	a.counters.deploys.Add(1)
	writeJSON(w, http.StatusCreated, deployResult(res))
}

func (a *Admin) versionsList(w http.ResponseWriter, r *http.Request) {
	if !a.deployer(w) {
		return
	}
	h, err := a.cfg.Deployer.History(r.PathValue("name"))
	if err != nil {
		writeDeployError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (a *Admin) versionActivate(w http.ResponseWriter, r *http.Request) {
	if !a.deployer(w) {
		return
	}
	var req api.ActivateRequest
	if !readJSON(w, r, &req) {
		return
	}
	res, err := a.cfg.Deployer.Activate(r.PathValue("name"), req.Version, req.Statement)
	if err != nil {
		a.log.Warn("activate refused", "app", r.PathValue("name"), "err", err)
		writeDeployError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, deployResult(res))
}

func (a *Admin) appRemove(w http.ResponseWriter, r *http.Request) {
	if !a.deployer(w) {
		return
	}
	var req api.RemoveRequest
	if !readJSON(w, r, &req) {
		return
	}
	if err := a.cfg.Deployer.Remove(r.PathValue("name"), req.Statement); err != nil {
		a.log.Warn("remove refused", "app", r.PathValue("name"), "err", err)
		writeDeployError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.Removed{Removed: r.PathValue("name")})
}

// appState is the app's current sequence, which the next signed change
// must exceed.
func (a *Admin) appState(w http.ResponseWriter, r *http.Request) {
	if !a.deployer(w) {
		return
	}
	name := r.PathValue("name")
	if !cache.ValidLabel(name) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("app: %q is not 1-63 of a-z 0-9 -", name))
		return
	}
	seq, err := a.cfg.Deployer.Seq(name)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, api.AppState{App: name, Seq: seq})
}

func (a *Admin) deployStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, api.DeployStats{
		Blobs: a.counters.blobs.Load(), BlobBytes: a.counters.bytes.Load(),
		Deploys: a.counters.deploys.Load(), Refused: a.counters.refused.Load(),
	})
}

// writeDeployError maps deploy errors to statuses.
func writeDeployError(w http.ResponseWriter, err error) {
	var miss *cache.MissingBlobsError
	status := http.StatusInternalServerError
	switch {
	case errors.As(err, &miss):
		writeJSON(w, http.StatusConflict, api.Error{Error: err.Error(), Missing: miss.Digests})
		return
	case errors.Is(err, state.ErrReplay):
		writeJSON(w, http.StatusConflict, api.Error{Error: err.Error(), Code: api.CodeStaleSeq})
		return
	case errors.Is(err, trust.ErrUnsigned), errors.Is(err, trust.ErrUntrustedKey), errors.Is(err, trust.ErrBadSignature),
		errors.Is(err, trust.ErrNoStatement), errors.Is(err, trust.ErrOutOfScope):
		status = http.StatusForbidden
	case errors.Is(err, trust.ErrBadManifest), errors.Is(err, trust.ErrBadStatement), errors.Is(err, state.ErrSeqJump):
		status = http.StatusBadRequest
	case errors.Is(err, deploy.ErrInvalidApp):
		status = http.StatusUnprocessableEntity
	case errors.Is(err, deploy.ErrBundleTooLarge):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, edge.ErrHostConflict):
		status = http.StatusConflict
	case errors.Is(err, cache.ErrNoVersion):
		status = http.StatusNotFound
	}
	writeError(w, status, trimBacktrace(err.Error()))
}

// trimBacktrace drops the Rust backtrace Wasmtime appends to a compile
// error: the message before it is what the deployer needs.
func trimBacktrace(msg string) string {
	if i := strings.Index(msg, "\n\nStack backtrace:"); i >= 0 {
		return msg[:i]
	}
	return msg
}
