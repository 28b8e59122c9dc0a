package app_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/edgecdn/edge/edge/app"
)

const manifestFile = "apps/demo/edge.toml"

func TestParseConfigValid(t *testing.T) {
	tests := []struct {
		name  string
		toml  string
		check func(t *testing.T, m *app.Config)
	}{
		{
			name: "readme example",
			toml: `
name  = "demo"
hosts = ["localhost", "127.0.0.1"]
[[routes]]
path     = "/api/hello"
module   = "hello.wasm"
executor = "wagi"
env      = { GREETING = "hi" }
memory   = "64MiB"
timeout  = "2s"
[[routes]]
path          = "/..."
static        = "public"
cache_control = "public, max-age=60"
`,
			check: func(t *testing.T, m *app.Config) {
				if m.Name != "demo" {
					t.Errorf("Name = %q, want demo", m.Name)
				}
				if !slices.Equal(m.Hosts, []string{"localhost", "127.0.0.1"}) {
					t.Errorf("Hosts = %q", m.Hosts)
				}
				if len(m.Routes) != 2 {
					t.Fatalf("%d routes, want 2", len(m.Routes))
				}
				api, site := m.Routes[0], m.Routes[1]
				if api.Path != "/api/hello" || api.Module != "hello.wasm" || api.Executor != "wagi" ||
					api.Env["GREETING"] != "hi" || api.Memory != "64MiB" || api.Timeout != "2s" {
					t.Errorf("routes[0] = %+v", api)
				}
				if site.Path != "/..." || site.Static != "public" || site.CacheControl != "public, max-age=60" || site.Executor != "" {
					t.Errorf("routes[1] = %+v", site)
				}
			},
		},
		{
			name: "executor defaults to wagi",
			toml: `
name = "demo"
hosts = ["*"]
[[routes]]
path = "/run"
module = "run.wasm"
`,
			check: func(t *testing.T, m *app.Config) {
				if got := m.Routes[0].Executor; got != "wagi" {
					t.Errorf("Executor = %q, want wagi", got)
				}
			},
		},
		{
			name: "static route keeps an empty executor",
			toml: `
name = "demo"
hosts = ["*"]
[[routes]]
path = "/..."
static = "public"
`,
			check: func(t *testing.T, m *app.Config) {
				if got := m.Routes[0].Executor; got != "" {
					t.Errorf("Executor = %q, want empty for a static route", got)
				}
			},
		},
		{
			name: "hosts are lower-cased",
			toml: `
name = "demo"
hosts = ["WWW.Example.COM", "LocalHost", "*", "::1", "2001:DB8::1"]
[[routes]]
path = "/"
static = "index.html"
`,
			check: func(t *testing.T, m *app.Config) {
				want := []string{"www.example.com", "localhost", "*", "::1", "2001:db8::1"}
				if !slices.Equal(m.Hosts, want) {
					t.Errorf("Hosts = %q, want %q", m.Hosts, want)
				}
			},
		},
		{
			name: "exact and wildcard of the same prefix are distinct",
			toml: `
name = "a-1"
hosts = ["a.example"]
[[routes]]
path = "/x"
static = "x.html"
[[routes]]
path = "/x/..."
static = "x"
[[routes]]
path = "/..."
static = "public"
[[routes]]
path = "/"
static = "index.html"
`,
			check: func(t *testing.T, m *app.Config) {
				var paths []string
				for _, r := range m.Routes {
					paths = append(paths, r.Path)
				}
				if want := []string{"/x", "/x/...", "/...", "/"}; !slices.Equal(paths, want) {
					t.Errorf("paths = %q, want %q", paths, want)
				}
			},
		},
		{
			name: "sizes and durations at their bounds",
			toml: `
name = "demo"
hosts = ["localhost"]
[[routes]]
path = "/a"
module = "a.wasm"
memory = "512 KiB"
timeout = "1ms"
max_output = "1GB"
[[routes]]
path = "/b"
module = "b.wasm"
memory = "65536"
timeout = "10m"
max_output = "1MiB"
`,
			check: func(t *testing.T, m *app.Config) {
				if m.Routes[0].Memory != "512 KiB" || m.Routes[1].Timeout != "10m" {
					t.Errorf("routes = %+v", m.Routes)
				}
			},
		},
		{
			name: "63-character name",
			toml: `
name = "` + strings.Repeat("a", 63) + `"
hosts = ["localhost"]
[[routes]]
path = "/"
static = "index.html"
`,
			check: func(t *testing.T, m *app.Config) {
				if len(m.Name) != 63 {
					t.Errorf("Name = %q", m.Name)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := app.ParseConfig(manifestFile, []byte(tt.toml))
			if err != nil {
				t.Fatalf("ParseManifest: %v", err)
			}
			tt.check(t, m)
		})
	}
}

// base is a valid manifest head; invalid cases append routes to it.
const base = `
name = "demo"
hosts = ["localhost"]
`

func TestParseConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []string // substrings of the error, besides the file name
	}{
		{
			name: "bad toml names the line",
			toml: "name = \"demo\"\nhosts = [\"localhost\"]\n= \"no key\"\n[[routes]]\npath = \"/\"\n",
			want: []string{"line 3"},
		},
		{
			name: "unterminated string",
			toml: "name = \"demo\"\n\n\nhosts = [\"localhost]\n",
			want: []string{"line 4"},
		},
		{
			name: "wrong type",
			toml: "name = \"demo\"\nhosts = \"localhost\"\n",
			want: []string{"hosts", "line 2"},
		},
		{
			name: "unknown top-level field",
			toml: base + `nmae = "x"` + "\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"nmae", "unknown field"},
		},
		{
			name: "unknown route field",
			toml: base + "[[routes]]\npath = \"/\"\nmodul = \"a.wasm\"\n",
			want: []string{"routes", "modul", "unknown field"},
		},
		{
			name: "missing name",
			toml: "hosts = [\"localhost\"]\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"name:", "lower-case"},
		},
		{
			name: "upper-case name",
			toml: "name = \"Demo\"\nhosts = [\"localhost\"]\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"name:", `"Demo"`, "lower-case"},
		},
		{
			name: "name with underscore",
			toml: "name = \"my_app\"\nhosts = [\"localhost\"]\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"name:", `"my_app"`},
		},
		{
			name: "name ending in a dash",
			toml: "name = \"app-\"\nhosts = [\"localhost\"]\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"name:", `"app-"`},
		},
		{
			name: "64-character name",
			toml: "name = \"" + strings.Repeat("a", 64) + "\"\nhosts = [\"localhost\"]\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"name:"},
		},
		{
			name: "no hosts",
			toml: "name = \"demo\"\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"hosts:", "at least one host"},
		},
		{
			name: "empty hosts",
			toml: "name = \"demo\"\nhosts = []\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"hosts:", "at least one host"},
		},
		{
			name: "host with a space",
			toml: "name = \"demo\"\nhosts = [\"exa mple.com\"]\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"hosts[0]", "not a host name"},
		},
		{
			name: "host with a port",
			toml: "name = \"demo\"\nhosts = [\"localhost\", \"localhost:8080\"]\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"hosts[1]", `"localhost:8080"`, "not a host name"},
		},
		{
			name: "empty host",
			toml: "name = \"demo\"\nhosts = [\"\"]\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"hosts[0]", "not a host name"},
		},
		{
			name: "wildcard subdomain host",
			toml: "name = \"demo\"\nhosts = [\"*.example.com\"]\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"hosts[0]", "not a host name"},
		},
		{
			name: "host longer than 253",
			toml: "name = \"demo\"\nhosts = [\"" + strings.Repeat("a.", 127) + "aa\"]\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"hosts[0]", "longer than 253"},
		},
		{
			name: "duplicate host after lower-casing",
			toml: "name = \"demo\"\nhosts = [\"a.example\", \"b.example\", \"A.Example\"]\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"hosts[2]", `"a.example"`, "listed twice"},
		},
		{
			name: "duplicate star",
			toml: "name = \"demo\"\nhosts = [\"*\", \"*\"]\n[[routes]]\npath = \"/\"\nstatic = \"a\"\n",
			want: []string{"hosts[1]", "listed twice"},
		},
		{
			name: "no routes",
			toml: base,
			want: []string{"routes:", "at least one [[routes]]"},
		},
		{
			name: "path without leading slash",
			toml: base + "[[routes]]\npath = \"api/hello\"\nmodule = \"a.wasm\"\n",
			want: []string{"routes[0].path", `"api/hello"`, "must start with /"},
		},
		{
			name: "missing path",
			toml: base + "[[routes]]\nmodule = \"a.wasm\"\n",
			want: []string{"routes[0].path", "must start with /"},
		},
		{
			name: "wildcard in the middle",
			toml: base + "[[routes]]\npath = \"/a/.../b\"\nstatic = \"a\"\n",
			want: []string{"routes[0].path", "wildcard"},
		},
		{
			name: "wildcard glued to a segment",
			toml: base + "[[routes]]\npath = \"/a...\"\nstatic = \"a\"\n",
			want: []string{"routes[0].path", "wildcard"},
		},
		{
			name: "double wildcard",
			toml: base + "[[routes]]\npath = \"/a/.../...\"\nstatic = \"a\"\n",
			want: []string{"routes[0].path", "wildcard"},
		},
		{
			name: "star",
			toml: base + "[[routes]]\npath = \"/a/*\"\nstatic = \"a\"\n",
			want: []string{"routes[0].path", "wildcard"},
		},
		{
			name: "dot-dot segment",
			toml: base + "[[routes]]\npath = \"/\"\nstatic = \"a\"\n[[routes]]\npath = \"/a/../b\"\nstatic = \"a\"\n",
			want: []string{"routes[1].path", ". or .. segments"},
		},
		{
			name: "dot-dot before wildcard",
			toml: base + "[[routes]]\npath = \"/../...\"\nstatic = \"a\"\n",
			want: []string{"routes[0].path", ". or .. segments"},
		},
		{
			name: "dot segment",
			toml: base + "[[routes]]\npath = \"/a/./b\"\nstatic = \"a\"\n",
			want: []string{"routes[0].path", ". or .. segments"},
		},
		{
			name: "trailing slash",
			toml: base + "[[routes]]\npath = \"/a/\"\nstatic = \"a\"\n",
			want: []string{"routes[0].path", "end in /"},
		},
		{
			name: "double slash",
			toml: base + "[[routes]]\npath = \"/a//b\"\nstatic = \"a\"\n",
			want: []string{"routes[0].path", "//"},
		},
		{
			name: "neither module nor static",
			toml: base + "[[routes]]\npath = \"/\"\n",
			want: []string{"routes[0].module", "needs module (dynamic) or static"},
		},
		{
			name: "both module and static",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\nstatic = \"public\"\n",
			want: []string{"routes[0].static", "not both"},
		},
		{
			name: "static route with env",
			toml: base + "[[routes]]\npath = \"/\"\nstatic = \"public\"\nenv = { A = \"b\" }\n",
			want: []string{"routes[0].env", "module routes only"},
		},
		{
			name: "static route with empty env",
			toml: base + "[[routes]]\npath = \"/\"\nstatic = \"public\"\nenv = {}\n",
			want: []string{"routes[0].env", "module routes only"},
		},
		{
			name: "static route with memory",
			toml: base + "[[routes]]\npath = \"/\"\nstatic = \"public\"\nmemory = \"64MiB\"\n",
			want: []string{"routes[0].memory", "module routes only"},
		},
		{
			name: "static route with timeout",
			toml: base + "[[routes]]\npath = \"/\"\nstatic = \"public\"\ntimeout = \"2s\"\n",
			want: []string{"routes[0].timeout", "module routes only"},
		},
		{
			name: "static route with executor",
			toml: base + "[[routes]]\npath = \"/\"\nstatic = \"public\"\nexecutor = \"wagi\"\n",
			want: []string{"routes[0].executor", "module routes only"},
		},
		{
			name: "static route with max_output",
			toml: base + "[[routes]]\npath = \"/\"\nstatic = \"public\"\nmax_output = \"1MiB\"\n",
			want: []string{"routes[0].max_output", "module routes only"},
		},
		{
			name: "module route with cache_control",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\ncache_control = \"no-store\"\n",
			want: []string{"routes[0].cache_control", "static routes only"},
		},
		{
			name: "module route marked internal",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\ninternal = true\n",
			want: []string{"routes[0].internal", "static routes only"},
		},
		{
			name: "unknown executor",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\nexecutor = \"spin\"\n",
			want: []string{"routes[0].executor", `"spin"`, "not supported"},
		},
		{
			name: "bad memory unit",
			toml: base + "[[routes]]\npath = \"/\"\nstatic = \"public\"\n[[routes]]\npath = \"/api\"\nmodule = \"a.wasm\"\nmemory = \"64XB\"\n",
			want: []string{"routes[1].memory", `"64XB"`, "not a size"},
		},
		{
			name: "zero memory",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\nmemory = \"0MiB\"\n",
			want: []string{"routes[0].memory", "not a size"},
		},
		{
			name: "negative memory",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\nmemory = \"-1\"\n",
			want: []string{"routes[0].memory", "not a size"},
		},
		{
			name: "memory above 1TiB",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\nmemory = \"1025GiB\"\n",
			want: []string{"routes[0].memory", "not a size"},
		},
		{
			name: "max_output above 1GiB",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\nmax_output = \"2GiB\"\n",
			want: []string{"routes[0].max_output", "more than any node allows (1024 MiB)"},
		},
		{
			name: "bad max_output",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\nmax_output = \"lots\"\n",
			want: []string{"routes[0].max_output", "not a size"},
		},
		{
			name: "bad timeout",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\ntimeout = \"2 parsecs\"\n",
			want: []string{"routes[0].timeout", `"2 parsecs"`, "not a duration"},
		},
		{
			name: "zero timeout",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\ntimeout = \"0s\"\n",
			want: []string{"routes[0].timeout", "outside 1ms to 10m"},
		},
		{
			name: "timeout above 10m",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\ntimeout = \"11m\"\n",
			want: []string{"routes[0].timeout", "outside 1ms to 10m"},
		},
		{
			name: "negative timeout",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\ntimeout = \"-2s\"\n",
			want: []string{"routes[0].timeout", "outside"},
		},
		{
			name: "env name with =",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\nenv = { \"A=B\" = \"c\" }\n",
			want: []string{"routes[0].env", `"A=B"`, "not a valid variable name"},
		},
		{
			name: "empty env name",
			toml: base + "[[routes]]\npath = \"/\"\nmodule = \"a.wasm\"\nenv = { \"\" = \"c\" }\n",
			want: []string{"routes[0].env", "not a valid variable name"},
		},
		{
			name: "duplicate paths",
			toml: base + "[[routes]]\npath = \"/api/...\"\nmodule = \"a.wasm\"\n[[routes]]\npath = \"/\"\nstatic = \"public\"\n[[routes]]\npath = \"/api/...\"\nstatic = \"api\"\n",
			want: []string{"routes[2].path", `"/api/..."`, "also the path of routes[0]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := app.ParseConfig(manifestFile, []byte(tt.toml))
			if err == nil {
				t.Fatalf("ParseManifest succeeded with %+v, want an error", m)
			}
			if m != nil {
				t.Errorf("ParseManifest returned a manifest with its error: %+v", m)
			}
			if !errors.Is(err, app.ErrConfig) {
				t.Errorf("error %q does not wrap ErrManifest", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, manifestFile+": ") {
				t.Errorf("error %q does not start with the file name %q", msg, manifestFile)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// TestParseConfigUnknownRouteFieldIndex checks that an unknown field in
// the second route names that route, as every other route error does.
func TestParseConfigUnknownRouteFieldIndex(t *testing.T) {
	doc := base + "[[routes]]\npath = \"/\"\nstatic = \"public\"\n[[routes]]\npath = \"/api\"\nmodul = \"a.wasm\"\n"
	_, err := app.ParseConfig(manifestFile, []byte(doc))
	if err == nil {
		t.Fatal("ParseManifest accepted an unknown route field")
	}
	if !strings.Contains(err.Error(), "routes[1]") {
		t.Errorf("unknown route field is named without its index: %v", err)
	}
}

// TestParseConfigWildcardAfterDoubleSlash checks a path that the other
// rules forbid ("//") cannot slip in through the wildcard suffix.
func TestParseConfigWildcardAfterDoubleSlash(t *testing.T) {
	for _, p := range []string{"//...", "/a//..."} {
		t.Run(p, func(t *testing.T) {
			doc := base + "[[routes]]\npath = \"" + p + "\"\nstatic = \"public\"\n"
			_, err := app.ParseConfig(manifestFile, []byte(doc))
			if err == nil {
				t.Fatalf("path %q is accepted", p)
			}
			if !errors.Is(err, app.ErrConfig) || !strings.Contains(err.Error(), "routes[0].path") {
				t.Errorf("error %q should wrap ErrConfig and name routes[0].path", err)
			}
		})
	}
}

// TestParseConfigErrorIsStable checks that a route with several
// module-only fields is reported the same way on every parse.
func TestParseConfigErrorIsStable(t *testing.T) {
	doc := base + "[[routes]]\npath = \"/\"\nstatic = \"public\"\nenv = { A = \"b\" }\nmemory = \"1MiB\"\ntimeout = \"1s\"\n"
	seen := map[string]bool{}
	for range 50 {
		_, err := app.ParseConfig(manifestFile, []byte(doc))
		if !errors.Is(err, app.ErrConfig) {
			t.Fatalf("ParseManifest: %v, want ErrConfig", err)
		}
		seen[err.Error()] = true
	}
	if len(seen) > 1 {
		t.Errorf("the error names a different field from run to run: %q", slices.Sorted(maps.Keys(seen)))
	}
}
