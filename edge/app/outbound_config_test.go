package app

import (
	"net/url"
	"strings"
	"testing"
)

// TestOutboundConfig: allowed_outbound_hosts and its limits are accepted on
// edge ABI and JavaScript routes only, each entry is scheme://host[:port] and nothing
// else, and a URL is allowed only by an exact scheme, host and port (or a
// "*." wildcard below a name).
func TestOutboundConfig(t *testing.T) {
	route := func(extra string) string {
		return "name = \"a\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/x\"\nmodule = \"m.wasm\"\nexecutor = \"edge\"\n" + extra + "\n"
	}
	for _, bad := range []struct{ toml, want string }{
		{route(`allowed_outbound_hosts = ["ftp://a.example"]`), "must start with http:// or https://"},
		{route(`allowed_outbound_hosts = ["https://a.example/path"]`), "scheme://host[:port] only"},
		{route(`allowed_outbound_hosts = ["https://user@a.example"]`), "scheme://host[:port] only"},
		{route(`allowed_outbound_hosts = ["https://*"]`), "wildcards only as a leading"},
		{route(`allowed_outbound_hosts = ["https://a.*.example"]`), "wildcards only as a leading"},
		{route(`allowed_outbound_hosts = ["https://a.example:0"]`), "bad port"},
		{route(`max_fetches = 1000`), "max_fetches"},
		{route(`max_fetch_size = "1GiB"`), "max_fetch_size"},
		{strings.Replace(route(`allowed_outbound_hosts = ["https://a.example"]`), `executor = "edge"`, "", 1), "edge ABI and JavaScript routes only"},
	} {
		if _, err := ParseConfig("edge.toml", []byte(bad.toml)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want %q", bad.toml, err, bad.want)
		}
	}
	m, err := ParseConfig("edge.toml", []byte(route(`allowed_outbound_hosts = ["https://api.example", "http://127.0.0.1:8081", "https://*.cdn.example"]`)))
	if err != nil {
		t.Fatal(err)
	}
	o, err := loadOutbound(nil, &m.Routes[0])
	if err != nil {
		t.Fatal(err)
	}
	if o.MaxCount != DefaultMaxFetches || o.MaxSize != DefaultMaxFetchSize {
		t.Errorf("defaults: %+v", o)
	}
	for u, want := range map[string]bool{
		"https://api.example/v1":      true,
		"https://API.example:443/v1":  true,
		"http://api.example/v1":       false, // scheme
		"https://api.example:8443/v1": false, // port
		"https://evil.example/":       false,
		"https://api.example.evil/":   false,
		"http://127.0.0.1:8081/x":     true,
		"http://127.0.0.1/x":          false,
		"https://img.cdn.example/a":   true,
		"https://cdn.example/a":       false, // a wildcard is below the name only
		"https://x.evilcdn.example/":  false,
	} {
		pu, _ := url.Parse(u)
		if _, got := o.Allows(pu); got != want {
			t.Errorf("Allows(%s) = %v, want %v", u, got, want)
		}
	}
}
