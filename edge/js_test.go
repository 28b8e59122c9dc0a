package edge_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/app"
)

// TestJSOverHTTP serves the JavaScript example app (modules/examples/
// hello-js) from a real listener: the route runs the node's engine
// pre-initialised with handler.js, answering through the edge ABI.
func TestJSOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: deriving and compiling the JavaScript engine's snapshot takes 10-100 s on a shared machine")
	}
	a, err := app.LoadApp(os.DirFS("../modules/examples/hello-js"), "hello-js", app.LoadOptions{Engine: newTestEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	router := edge.NewRouter()
	if err := router.Set([]*app.App{a}); err != nil {
		t.Fatal(err)
	}
	h := edge.NewHandler(edge.HandlerConfig{Router: router, Log: quietLog})
	srv := edge.NewServer(edge.ServerConfig{HTTPAddr: "127.0.0.1:0", Log: quietLog}, h)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	base := "http://" + srv.HTTPAddr()
	for _, tc := range []struct{ path, want, ctype string }{
		{"/api/hello-js?name=edge", "Hello, edge! (from JavaScript)\n", "text/plain; charset=utf-8"},
		{"/api/hello-js/json?name=a%26b", `{"greeting":"Hello","name":"a&b","method":"GET"}`, "application/json"},
	} {
		resp, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != tc.want || resp.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("%s: %d %q %q, want %q %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.ctype, tc.want)
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no request id", tc.path)
		}
	}
}
