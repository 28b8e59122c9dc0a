package edge

import (
	"errors"
	"fmt"
	"net"
	"path"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/edgecdn/edge/edge/app"
)

// Router maps a request's host and path to an app and one of its routes.
// Its table is replaced whole and atomically: a request sees the apps as
// they were when it was routed, never a mix.
type Router struct {
	table atomic.Pointer[table]
}

type table struct {
	apps   []*app.App
	byHost map[string]*routedApp
	any    *routedApp // the app that listed "*", if any
	// dynamicApps counts the apps with a dynamic route: the apps that
	// compete for guest slots.
	dynamicApps int
}

// routedApp indexes an App's routes for matching.
type routedApp struct {
	app   *app.App
	exact map[string]*app.Route
	wild  []*app.Route // longest prefix first
}

// NewRouter returns a router with no apps: every request gets 404.
func NewRouter() *Router {
	r := &Router{}
	r.table.Store(&table{byHost: map[string]*routedApp{}})
	return r
}

// Table is a routing table built and checked for a set of apps, ready to
// install. Building is where everything that can fail happens, so that a
// caller can prepare a table, commit a change elsewhere, and then install
// the table knowing it cannot be refused.
type Table struct{ t *table }

// Prepare builds the table for apps. Two apps may not claim the same host.
func (r *Router) Prepare(apps []*app.App) (*Table, error) {
	t, err := newTable(apps)
	if err != nil {
		return nil, err
	}
	return &Table{t}, nil
}

// Install makes a prepared table the one requests are routed by. It
// cannot fail.
func (r *Router) Install(t *Table) { r.table.Store(t.t) }

// Set prepares and installs a table for apps in one step.
func (r *Router) Set(apps []*app.App) error {
	t, err := r.Prepare(apps)
	if err != nil {
		return err
	}
	r.Install(t)
	return nil
}

func newTable(apps []*app.App) (*table, error) {
	t := &table{apps: apps, byHost: map[string]*routedApp{}}
	owner := map[string]string{}
	for _, a := range apps {
		ra := index(a)
		if hasDynamic(a) {
			t.dynamicApps++
		}
		for _, h := range a.Hosts {
			if other, taken := owner[h]; taken {
				return nil, fmt.Errorf("%w: host %q is claimed by both app %q and app %q", ErrHostConflict, h, other, a.Name)
			}
			owner[h] = a.Name
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
func (r *Router) Apps() []*app.App { return r.table.Load().apps }

// DynamicApps is how many of the apps served have a dynamic route.
func (r *Router) DynamicApps() int { return r.table.Load().dynamicApps }

func hasDynamic(a *app.App) bool {
	for _, rt := range a.Routes {
		if rt.Dynamic() {
			return true
		}
	}
	return false
}

func index(a *app.App) *routedApp {
	ra := &routedApp{app: a, exact: map[string]*app.Route{}}
	for _, rt := range a.Routes {
		if rt.Wild {
			ra.wild = append(ra.wild, rt)
		} else {
			ra.exact[rt.Pattern] = rt
		}
	}
	sort.SliceStable(ra.wild, func(i, j int) bool { return len(ra.wild[i].Prefix) > len(ra.wild[j].Prefix) })
	return ra
}

// Match finds the app for host and the route for urlPath (already
// cleaned). An exact route beats a wildcard; among wildcards the longest
// prefix wins; "/x/..." also matches "/x".
func (r *Router) Match(host, urlPath string) (*app.App, *app.Route) {
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
		if rt.Matches(urlPath) {
			return ra.app, rt
		}
	}
	return ra.app, nil
}

// normalizeHost drops the port and a trailing dot, and lower-cases.
func normalizeHost(h string) string {
	if strings.IndexByte(h, ':') < 0 { // no port: skip SplitHostPort's error value
	} else if host, _, err := net.SplitHostPort(h); err == nil {
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
