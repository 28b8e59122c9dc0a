package ops_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/httpcache"
	"github.com/edgecdn/edge/ops"
)

// TestPurgeEndpoint purges a cached origin object through POST /v1/purge
// by URL, prefix and tag: each time the next request goes to the origin.
// Bad requests get 400, no token 401, a node without a cache 501.
func TestPurgeEndpoint(t *testing.T) {
	var hits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Surrogate-Key", "all "+strings.Trim(r.URL.Path, "/"))
		_, _ = io.WriteString(w, "x")
	}))
	defer origin.Close()
	ap, err := app.LoadApp(fstest.MapFS{"edge.toml": {Data: []byte(fmt.Sprintf(
		"name = \"p\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\norigin = %q\n", origin.URL))}}, "p", app.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	router := edge.NewRouter()
	if err := router.Set([]*app.App{ap}); err != nil {
		t.Fatal(err)
	}
	hc, _ := httpcache.New(httpcache.Config{Log: slogDiscard()})
	h := edge.NewHandler(edge.HandlerConfig{Router: router, Log: slogDiscard(), HTTPCache: hc})
	fetch := func(path string) {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://cdn.example"+path, nil))
	}
	base := startPurgeAdmin(t, ops.AdminConfig{Handler: h})
	for _, tc := range []struct {
		path, body string
		purged     int
	}{
		{"/img/a", `{"url":"https://cdn.example/img/a"}`, 1},
		{"/img/b", `{"prefix":"http://cdn.example/img/"}`, 2}, // /img/a is back in the cache
		{"/c", `{"tag":"c","soft":true}`, 1},
	} {
		fetch(tc.path)
		fetch(tc.path)
		before := hits.Load()
		status, body := post(t, base+"/v1/purge", token, tc.body)
		if status != 200 || !strings.Contains(body, fmt.Sprintf(`"purged": %d,`, tc.purged)) {
			t.Errorf("purge %s = %d %s", tc.body, status, body)
		}
		fetch(tc.path) // after a soft purge: served stale, revalidated in the background
		for deadline := time.Now().Add(10 * time.Second); hits.Load() == before && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if hits.Load() == before {
			t.Errorf("after purge %s the origin was not asked", tc.body)
		}
	}
	for _, bad := range []string{`{}`, `{"url":"/relative"}`, `{"url":"http://a/","tag":"x"}`, `{"nope":1}`, `not json`} {
		if status, body := post(t, base+"/v1/purge", token, bad); status != 400 {
			t.Errorf("purge %s = %d %s, want 400", bad, status, body)
		}
	}
	if status, _ := post(t, base+"/v1/purge", "", `{"tag":"all"}`); status != 401 {
		t.Errorf("purge without a token = %d, want 401", status)
	}
	noCache := startPurgeAdmin(t, ops.AdminConfig{Handler: edge.NewHandler(edge.HandlerConfig{Router: router, Log: slogDiscard()})})
	if status, _ := post(t, noCache+"/v1/purge", token, `{"tag":"all"}`); status != 501 {
		t.Errorf("purge on a node without a cache = %d, want 501", status)
	}
}

func startPurgeAdmin(t *testing.T, cfg ops.AdminConfig) string {
	t.Helper()
	cfg.Addr, cfg.Token, cfg.Log = "127.0.0.1:0", token, slogDiscard()
	admin, err := ops.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Shutdown(t.Context()) })
	return "http://" + admin.Addr()
}

func post(t *testing.T, url, tok, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
