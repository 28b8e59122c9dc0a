package edge

import (
	"errors"
	"fmt"
	"net"
	"path"
	"sort"
	"strings"
	"sync/atomic"
)

// Router maps a request's host and path to an app and one of its routes.
// Its table is replaced whole and atomically: a request sees the apps as
// they were when it was routed, never a mix.
type Router struct {
	table atomic.Pointer[table]
}

type table struct {
	apps   []*App
	byHost map[string]*routedApp
	any    *routedApp // the app that listed "*", if any
}

// routedApp indexes an App's routes for matching.
type routedApp struct {
	app   *App
	exact map[string]*Route
	wild  []*Route // longest prefix first
}

// NewRouter returns a router with no apps: every request gets 404.
func NewRouter() *Router {
	r := &Router{}
	r.table.Store(&table{byHost: map[string]*routedApp{}})
	return r
}

// Set replaces all apps at once. Two apps may not claim the same host.
func (r *Router) Set(apps []*App) error {
	t, err := newTable(apps)
	if err != nil {
		return err
	}
	r.table.Store(t)
	return nil
}

// Check reports the error Set would return for apps, changing nothing.
func (r *Router) Check(apps []*App) error {
	_, err := newTable(apps)
	return err
}

func newTable(apps []*App) (*table, error) {
	t := &table{apps: apps, byHost: map[string]*routedApp{}}
	owner := map[string]string{}
	for _, app := range apps {
		ra := index(app)
		for _, h := range app.Hosts {
			if other, taken := owner[h]; taken {
				return nil, fmt.Errorf("%w: host %q is claimed by both app %q and app %q", ErrHostConflict, h, other, app.Name)
			}
			owner[h] = app.Name
			if h == "*" {
				t.any = ra
			} else {
				t.byHost[h] = ra
			}
		}
	}
	return t, nil
}

// ErrHostConflict is returned when two apps claim the same host.
var ErrHostConflict = errors.New("edge: conflicting hosts")

// Apps lists the apps being served.
func (r *Router) Apps() []*App { return r.table.Load().apps }

func index(app *App) *routedApp {
	ra := &routedApp{app: app, exact: map[string]*Route{}}
	for _, rt := range app.Routes {
		if rt.wild {
			ra.wild = append(ra.wild, rt)
		} else {
			ra.exact[rt.Pattern] = rt
		}
	}
	sort.SliceStable(ra.wild, func(i, j int) bool { return len(ra.wild[i].prefix) > len(ra.wild[j].prefix) })
	return ra
}

// Match finds the app for host and the route for urlPath (already
// cleaned). An exact route beats a wildcard; among wildcards the longest
// prefix wins; "/x/..." also matches "/x".
func (r *Router) Match(host, urlPath string) (*App, *Route) {
	t := r.table.Load()
	ra := t.byHost[normalizeHost(host)]
	if ra == nil {
		ra = t.any
	}
	if ra == nil {
		return nil, nil
	}
	if rt := ra.exact[urlPath]; rt != nil {
		return ra.app, rt
	}
	for _, rt := range ra.wild {
		if rt.matches(urlPath) {
			return ra.app, rt
		}
	}
	return ra.app, nil
}

func (rt *Route) matches(p string) bool {
	if rt.prefix == "" {
		return true
	}
	return p == rt.prefix || strings.HasPrefix(p, rt.prefix+"/")
}

// rel is the part of p below a wildcard route's prefix, without a leading
// slash: "" for the route's root.
func (rt *Route) rel(p string) string {
	return strings.TrimPrefix(strings.TrimPrefix(p, rt.prefix), "/")
}

// normalizeHost drops the port and a trailing dot, and lower-cases.
func normalizeHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	return strings.ToLower(h)
}

// cleanPath resolves "." and ".." in a request path, keeping a trailing
// slash, so routing and static lookups see one canonical form.
func cleanPath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}
