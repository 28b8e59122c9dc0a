package edge

import (
	"strings"

	"github.com/edgecdn/edge/edge/httpcache"
)

// PurgeScope limits a purge signed for app to that app's cache entries:
// its guests' fetches (keys "guest:APP:...") and the responses of origin
// routes for hosts the router gives to app. A deploy key trusted for one
// app cannot purge another's objects, whatever URL or tag it names.
func PurgeScope(r *Router, app string) func(key string) bool {
	guest := "guest:" + app + ":"
	return func(key string) bool {
		if strings.HasPrefix(key, "guest:") {
			return strings.HasPrefix(key, guest)
		}
		if r == nil {
			return false
		}
		host, target, ok := strings.Cut(key, "/")
		if !ok {
			return false
		}
		path, _, _ := strings.Cut("/"+target, "?")
		a, _ := r.Match(host, path)
		return a != nil && a.Name == app
	}
}

// ScopedPurge is p limited to app's entries (PurgeScope).
func (h *Handler) ScopedPurge(p httpcache.Purge, app string) httpcache.Purge {
	p.Only = PurgeScope(h.cfg.Router, app)
	return p
}
