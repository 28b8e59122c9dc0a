package edge

import (
	"net/http"
	"net/url"

	"github.com/edgecdn/edge/modules"
)

// StaticHeader is the response header with which a module hands a request
// over to one of its app's static files: the module decides (checks a
// signed URL, a session, a geofence) and the node sends the bytes, with
// Range, conditional requests and HEAD, at the speed of any static file.
// Its value is a path on the app's own host, matched by a static route
// (an internal one, which answers nothing by itself, or a public one).
// As nginx's X-Accel-Redirect, it never reaches the client.
const StaticHeader = modules.StaticHeader

// serveGuestStatic answers with the static file a module named. Headers
// the module set (Cache-Control, say) are kept over the route's own; a
// status other than 200, a path outside the app's static routes or one
// with no file is the module's mistake, answered 502 or 404.
func (h *Handler) serveGuestStatic(w http.ResponseWriter, r *http.Request, resp *modules.Response, target, id string) {
	u, err := url.Parse(target)
	if err != nil || resp.Status != http.StatusOK || u.Path == "" || u.Path[0] != '/' {
		h.log.Warn("guest named an unusable static target", "id", id, "target", target, "status", resp.Status)
		http.Error(w, "the app's module returned an invalid response (request id "+id+")", http.StatusBadGateway)
		return
	}
	p := cleanPath(u.Path)
	_, rt := h.cfg.Router.Match(r.Host, p)
	if rt == nil || rt.Dynamic() {
		h.log.Warn("guest named a path no static route serves", "id", id, "target", p)
		http.Error(w, "the app's module returned an invalid response (request id "+id+")", http.StatusBadGateway)
		return
	}
	hdr := w.Header()
	for k, v := range resp.Header {
		if k != StaticHeader && k != "Content-Length" && k != "Content-Type" {
			hdr[k] = v
		}
	}
	h.serveStatic(&keepHeaders{ResponseWriter: w, keep: resp.Header}, r, rt, p, id)
}

// keepHeaders lets the module's headers win over those serveStatic sets
// (the route's Cache-Control), re-applying them as the head is written.
type keepHeaders struct {
	http.ResponseWriter
	keep  http.Header
	wrote bool
}

func (k *keepHeaders) WriteHeader(code int) {
	k.wrote = true
	hdr := k.ResponseWriter.Header()
	for _, name := range []string{"Cache-Control", "Expires", "Vary"} {
		if v, ok := k.keep[name]; ok {
			hdr[name] = v
		}
	}
	k.ResponseWriter.WriteHeader(code)
}

func (k *keepHeaders) Write(b []byte) (int, error) {
	if !k.wrote {
		k.WriteHeader(http.StatusOK)
	}
	return k.ResponseWriter.Write(b)
}

func (k *keepHeaders) Unwrap() http.ResponseWriter { return k.ResponseWriter }
