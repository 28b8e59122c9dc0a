package ops_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/httpcache"
	"github.com/edgecdn/edge/gossip/trust"
	"github.com/edgecdn/edge/ops"
	"github.com/edgecdn/edge/ops/api"
)

// TestSignedPurgeScopedToApp: two apps cache objects that share a
// Surrogate-Key. A tag purge signed for app "p" by a key trusted for "p"
// removes p's object only; one signed for "q" by that key, one whose
// signature does not match, and one unsigned statement are refused (403),
// and q's object stays cached throughout.
func TestSignedPurgeScopedToApp(t *testing.T) {
	var hits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Surrogate-Key", "all")
		_, _ = io.WriteString(w, "x")
	}))
	defer origin.Close()
	load := func(name, host string) *app.App {
		a, err := app.LoadApp(fstest.MapFS{"edge.toml": {Data: []byte(fmt.Sprintf(
			"name = %q\nhosts = [%q]\n[[routes]]\npath = \"/...\"\norigin = %q\n", name, host, origin.URL))}}, name, app.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	router := edge.NewRouter()
	if err := router.Set([]*app.App{load("p", "p.example"), load("q", "q.example")}); err != nil {
		t.Fatal(err)
	}
	hc, _ := httpcache.New(httpcache.Config{Log: slogDiscard()})
	h := edge.NewHandler(edge.HandlerConfig{Router: router, Log: slogDiscard(), HTTPCache: hc})
	fetch := func(url string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
		return rec.Header().Get("X-Cache")
	}
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, stranger, _ := ed25519.GenerateKey(nil)
	base := startPurgeAdmin(t, ops.AdminConfig{Handler: h, Trusted: trust.Keyring{{Pub: pub, Apps: []string{"p"}, Source: "p.pub"}}})
	signed := func(appName string, key ed25519.PrivateKey, body string) string {
		st := trust.NewPurgeStatement(appName, []byte(body))
		if key != nil {
			trust.SignPurge(st, key)
		}
		b, _ := json.Marshal(api.PurgeRequest{Statement: st})
		return string(b)
	}
	for _, u := range []string{"http://p.example/o", "http://q.example/o"} {
		fetch(u)
		if got := fetch(u); got != "HIT" {
			t.Fatalf("%s: X-Cache %q, want HIT", u, got)
		}
	}
	for _, bad := range []struct{ name, body string }{
		{"out of scope", signed("q", priv, `{"tag":"all"}`)},
		{"untrusted key", signed("p", stranger, `{"tag":"all"}`)},
		{"unsigned", signed("p", nil, `{"tag":"all"}`)},
	} {
		if status, body := post(t, base+"/v1/purge", token, bad.body); status != 403 {
			t.Errorf("%s: %d %s, want 403", bad.name, status, body)
		}
	}
	if got := fetch("http://p.example/o"); got != "HIT" {
		t.Fatalf("p's object after refused purges: X-Cache %q, want HIT", got)
	}
	status, body := post(t, base+"/v1/purge", token, signed("p", priv, `{"tag":"all"}`))
	if status != 200 || !strings.Contains(body, `"purged": 1,`) {
		t.Fatalf("signed purge for p: %d %s", status, body)
	}
	if got := fetch("http://p.example/o"); got != "MISS" {
		t.Errorf("p's object after its purge: X-Cache %q, want MISS", got)
	}
	if got := fetch("http://q.example/o"); got != "HIT" {
		t.Errorf("q's object after p's purge: X-Cache %q, want HIT (another app's purge must not reach it)", got)
	}
}
