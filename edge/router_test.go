package edge_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
)

// staticApp loads an app whose routes all serve one static directory, over
// an in-memory file system: no wasm engine is involved.
func staticApp(t *testing.T, name string, hosts []string, paths ...string) *app.App {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "name = %q\nhosts = [", name)
	for i, h := range hosts {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", h)
	}
	b.WriteString("]\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "[[routes]]\npath = %q\nstatic = \"public\"\n", p)
	}
	fsys := fstest.MapFS{
		"edge.toml":         {Data: []byte(b.String())},
		"public/index.html": {Data: []byte("<h1>" + name + "</h1>")},
	}
	ap, err := app.LoadApp(fsys, "mem/"+name, app.LoadOptions{})
	if err != nil {
		t.Fatalf("LoadApp %s: %v", name, err)
	}
	return ap
}

func newRouter(t *testing.T, apps ...*app.App) *edge.Router {
	t.Helper()
	r := edge.NewRouter()
	if err := r.Set(apps); err != nil {
		t.Fatalf("Router.Set: %v", err)
	}
	return r
}

func TestRouterMatch(t *testing.T) {
	// Wildcards are listed shortest first so that longest-prefix order has
	// to come from the router, not from the manifest.
	site := staticApp(t, "site", []string{"example.com", "127.0.0.1", "::1"},
		"/...", "/api/...", "/api/v1/...", "/api/hello", "/x/...", "/")
	bare := staticApp(t, "bare", []string{"bare.test"}, "/x/...", "/only")
	fallback := staticApp(t, "fallback", []string{"*"}, "/...")
	r := newRouter(t, site, bare, fallback)

	tests := []struct {
		host, path string
		app, route string // "" for nil
	}{
		{"example.com", "/api/hello", "site", "/api/hello"},
		{"example.com", "/api/hello/", "site", "/api/..."},
		{"example.com", "/api/hello/more", "site", "/api/..."},
		{"example.com", "/api", "site", "/api/..."},
		{"example.com", "/api/", "site", "/api/..."},
		{"example.com", "/api/v1", "site", "/api/v1/..."},
		{"example.com", "/api/v1/users/7", "site", "/api/v1/..."},
		{"example.com", "/api/v10", "site", "/api/..."},
		{"example.com", "/apiv1", "site", "/..."},
		{"example.com", "/x", "site", "/x/..."},
		{"example.com", "/x/", "site", "/x/..."},
		{"example.com", "/xy", "site", "/..."},
		{"example.com", "/", "site", "/"},
		{"example.com", "/anything/deep/down", "site", "/..."},
		{"EXAMPLE.COM", "/api/hello", "site", "/api/hello"},
		{"Example.Com:8443", "/api/hello", "site", "/api/hello"},
		{"example.com:80", "/x", "site", "/x/..."},
		{"example.com.", "/api/v1", "site", "/api/v1/..."},
		{"example.com.:443", "/api/v1", "site", "/api/v1/..."},
		{"127.0.0.1:9000", "/api/hello", "site", "/api/hello"},
		{"127.0.0.1", "/", "site", "/"},
		{"[::1]:8080", "/x", "site", "/x/..."},
		{"[::1]", "/x", "site", "/x/..."},
		{"bare.test", "/x", "bare", "/x/..."},
		{"bare.test", "/x/y", "bare", "/x/..."},
		{"bare.test", "/xy", "bare", ""},
		{"bare.test", "/", "bare", ""},
		{"bare.test", "/only", "bare", "/only"},
		{"bare.test", "/only/more", "bare", ""},
		{"BARE.TEST.:1", "/only", "bare", "/only"},
		{"unknown.test", "/api/hello", "fallback", "/..."},
		{"", "/", "fallback", "/..."},
		{"sub.example.com", "/", "fallback", "/..."},
		{"example.co", "/", "fallback", "/..."},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.path, func(t *testing.T) {
			ap, route := r.Match(tt.host, tt.path)
			gotApp, gotRoute := "", ""
			if ap != nil {
				gotApp = ap.Name
			}
			if route != nil {
				gotRoute = route.Pattern
			}
			if gotApp != tt.app || gotRoute != tt.route {
				t.Errorf("Match(%q, %q) = (%q, %q), want (%q, %q)", tt.host, tt.path, gotApp, gotRoute, tt.app, tt.route)
			}
		})
	}
}

func TestRouterNoFallback(t *testing.T) {
	r := newRouter(t, staticApp(t, "site", []string{"example.com"}, "/..."))
	for _, host := range []string{"other.test", "", "example.com.evil", "xexample.com", "127.0.0.1"} {
		t.Run(host, func(t *testing.T) {
			if ap, route := r.Match(host, "/"); ap != nil || route != nil {
				t.Errorf("Match(%q) = (%v, %v), want no app", host, ap, route)
			}
		})
	}
}

func TestRouterEmpty(t *testing.T) {
	r := edge.NewRouter()
	if ap, route := r.Match("example.com", "/"); ap != nil || route != nil {
		t.Errorf("empty router matched (%v, %v)", ap, route)
	}
	if n := len(r.Apps()); n != 0 {
		t.Errorf("empty router has %d apps", n)
	}
}

func TestRouterSetConflict(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		host string
	}{
		{"same host", []string{"a.test", "shared.test"}, []string{"shared.test"}, "shared.test"},
		{"same host in other case", []string{"shared.test"}, []string{"b.test", "SHARED.test"}, "shared.test"},
		{"both star", []string{"*"}, []string{"*"}, "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := staticApp(t, "old", []string{"a.test", "shared.test"}, "/...")
			r := newRouter(t, old)

			one := staticApp(t, "one", tt.a, "/...")
			two := staticApp(t, "two", tt.b, "/...")
			err := r.Set([]*app.App{one, two})
			if err == nil {
				t.Fatal("Set accepted two apps claiming one host")
			}
			for _, want := range []string{`"one"`, `"two"`, fmt.Sprintf("%q", tt.host)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}
			// A rejected table changes nothing.
			if ap, _ := r.Match("shared.test", "/"); ap != old {
				t.Errorf("after a failed Set, shared.test routes to %v, want the old app", ap)
			}
			if apps := r.Apps(); len(apps) != 1 || apps[0] != old {
				t.Errorf("after a failed Set, Apps() = %v", apps)
			}
		})
	}
}

func TestRouterSetReplaces(t *testing.T) {
	v1 := staticApp(t, "site", []string{"example.com"}, "/...")
	r := newRouter(t, v1)
	v2 := staticApp(t, "site", []string{"example.com"}, "/v2/...")
	if err := r.Set([]*app.App{v2}); err != nil {
		t.Fatal(err)
	}
	ap, route := r.Match("example.com", "/")
	if ap != v2 || route != nil {
		t.Errorf("after Set(v2), / = (%v, %v), want v2 and no route", ap, route)
	}
	if _, route := r.Match("example.com", "/v2/a"); route == nil || route.Pattern != "/v2/..." {
		t.Errorf("after Set(v2), /v2/a = %v", route)
	}
	if err := r.Set(nil); err != nil {
		t.Fatal(err)
	}
	if ap, _ := r.Match("example.com", "/"); ap != nil {
		t.Errorf("after Set(nil), matched %v", ap)
	}
}
