package app_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgecdn/edge/edge/app"
)

const originBase = "name = \"cdn\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\n"

func TestOriginRouteConfig(t *testing.T) {
	a, err := app.LoadApp(fstest.MapFS{"edge.toml": {Data: []byte(originBase +
		"origin = \"https://origin.example:8443/base/\"\norigin_host = \"www.example.com\"\norigin_timeout = \"5s\"\n")}}, "cdn", app.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o := a.Routes[0].Origin
	if o == nil || o.URL.String() != "https://origin.example:8443/base" || o.Host != "www.example.com" || o.Timeout != 5*time.Second {
		t.Fatalf("origin = %+v", o)
	}
	for _, tc := range []struct{ toml, want string }{
		{`origin = "ftp://x"`, "origin: "},
		{`origin = "https://"`, "has no host"},
		{`origin = "https://u:p@x"`, "user info"},
		{`origin = "https://x/?q=1"`, "query"},
		{"origin = \"https://x\"\nstatic = \"public\"", "one of module, static or origin"},
		{"origin = \"https://x\"\nmemory = \"1MiB\"", "memory: does not apply"},
		{"origin = \"https://x\"\norigin_timeout = \"forever\"", "origin_timeout"},
		{"origin = \"https://x\"\norigin_host = \"a b\"", "origin_host"},
		{"origin = \"https://x\"\norigin_host = \"evil/path\"", "origin_host"},
		{"static = \"public\"\norigin_host = \"x\"", "origin_host: applies to origin routes only"},
		{"origin = \"https://x\"\norigin_ca = \"missing.pem\"", "origin_ca"},
		{"origin = \"https://x\"\norigin_ca = \"../etc/ca.pem\"", "inside the app directory"},
		{"origin = \"https://x\"\norigin_ca = \"notpem.txt\"", "no PEM certificate"},
		{"origin = \"https://x\"\norigin_tmeout = \"1s\"", "routes[0].origin_tmeout: unknown field"},
	} {
		_, err := app.LoadApp(fstest.MapFS{
			"edge.toml":  {Data: []byte(originBase + tc.toml + "\n")},
			"notpem.txt": {Data: []byte("hello")},
			"public/a":   {Data: []byte("a")},
		}, "cdn", app.LoadOptions{})
		if err == nil || !errors.Is(err, app.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want ErrConfig naming %q", tc.toml, err, tc.want)
		}
	}
}
