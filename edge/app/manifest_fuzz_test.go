package app_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/edgecdn/edge/edge/app"
)

// FuzzParseConfig feeds arbitrary bytes to ParseManifest. It must never
// panic; an error must wrap ErrManifest and name the file; a manifest it
// accepts must satisfy every rule, and must survive a round trip through
// the TOML encoder unchanged.
func FuzzParseConfig(f *testing.F) {
	seeds := []string{
		`name = "demo"
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
		"name = \"a\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/\"\nstatic = \"index.html\"\n",
		"name = \"a\"\nhosts = [\"A.B\", \"::1\"]\n[[routes]]\npath = \"/x/...\"\nmodule = \"x.wasm\"\nmax_output = \"1 KB\"\n",
		"name = \"a\"\nhosts = [\"a\"]\n[[routes]]\npath = \"/a/../b\"\nstatic = \"p\"\n",
		"name = \"a\"\nhosts = [\"a\"]\n[[routes]]\npath = \"/\"\nmodule = \"a\"\nstatic = \"b\"\n",
		"name = \"a\"\nhosts = [\"a\", \"A\"]\n[[routes]]\npath = \"/\"\nstatic = \"b\"\n",
		"name = \"a\"\nhosts = [\"a\"]\n[[routes]]\npath = \"/\"\nmodule = \"a\"\ntimeout = \"11m\"\nmemory = \"64XB\"\n",
		"[[routes]]\nmodul = 1\n",
		"name = 5\n",
		"",
		"\x00",
		"[[routes]\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := app.ParseConfig("f/edge.toml", data)
		if err != nil {
			if m != nil {
				t.Fatalf("manifest %+v returned with error %v", m, err)
			}
			if !errors.Is(err, app.ErrConfig) || !strings.HasPrefix(err.Error(), "f/edge.toml: ") {
				t.Fatalf("error %q should wrap ErrManifest and start with the file name", err)
			}
			return
		}
		checkManifest(t, m)

		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(m); err != nil {
			t.Fatalf("encode accepted manifest: %v", err)
		}
		again, err := app.ParseConfig("f/edge.toml", buf.Bytes())
		if err != nil {
			t.Fatalf("re-parse of accepted manifest failed: %v\n%s", err, buf.Bytes())
		}
		if !reflect.DeepEqual(normalizeEnv(m), normalizeEnv(again)) {
			t.Fatalf("round trip changed the manifest:\n%+v\n%+v", m, again)
		}
	})
}

// checkManifest asserts the rules of the format on an accepted manifest.
func checkManifest(t *testing.T, m *app.Config) {
	t.Helper()
	if m.Name == "" || len(m.Name) > 63 || strings.ToLower(m.Name) != m.Name {
		t.Fatalf("accepted name %q", m.Name)
	}
	if len(m.Hosts) == 0 || len(m.Routes) == 0 {
		t.Fatalf("accepted %d hosts and %d routes", len(m.Hosts), len(m.Routes))
	}
	hosts := map[string]bool{}
	for _, h := range m.Hosts {
		if h == "" || h != strings.ToLower(h) || hosts[h] {
			t.Fatalf("accepted host %q in %q", h, m.Hosts)
		}
		hosts[h] = true
	}
	paths := map[string]bool{}
	for i, r := range m.Routes {
		if (r.Module == "") == (r.Static == "") {
			t.Fatalf("routes[%d] has module %q and static %q", i, r.Module, r.Static)
		}
		if !strings.HasPrefix(r.Path, "/") || paths[r.Path] {
			t.Fatalf("routes[%d] accepted path %q", i, r.Path)
		}
		paths[r.Path] = true
		base := strings.TrimSuffix(r.Path, "/...")
		if strings.Contains(base, "...") {
			t.Fatalf("routes[%d] accepted a wildcard inside %q", i, r.Path)
		}
		for _, seg := range strings.Split(base, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("routes[%d] accepted a dot segment in %q", i, r.Path)
			}
		}
		if r.Static != "" && (r.Executor != "" || r.Env != nil || r.Memory != "" || r.Timeout != "" || r.MaxOutput != "") {
			t.Fatalf("routes[%d] static route with module settings: %+v", i, r)
		}
		if r.Module != "" && (r.Executor != "wagi" || r.CacheControl != "") {
			t.Fatalf("routes[%d] module route %+v", i, r)
		}
	}
}

// normalizeEnv treats an empty env like no env: the encoder omits both.
func normalizeEnv(m *app.Config) *app.Config {
	c := *m
	c.Routes = append([]app.RouteSpec(nil), m.Routes...)
	for i := range c.Routes {
		if len(c.Routes[i].Env) == 0 {
			c.Routes[i].Env = nil
		}
	}
	return &c
}
