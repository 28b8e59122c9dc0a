package edge_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/edgecdn/edge/edge"
)

// TestDemoGoGuestPreinitialised serves the demo's Go edge ABI route over
// HTTP as a node does: from a snapshot (no _initialize left to run), on
// every protocol, each request answering its own query.
func TestDemoGoGuestPreinitialised(t *testing.T) {
	if testing.Short() {
		t.Skip("pre-initialises and compiles the Go guest")
	}
	demo := loadDemo(t, newTestEngine(t))
	for _, rt := range demo.Routes {
		if rt.Pattern == "/api/hello-edge-go" && rt.Module.Exports("_initialize") {
			t.Fatal("the demo's Go route is not pre-initialised: its module still exports _initialize")
		}
	}
	n := startNode(t, edge.HandlerConfig{Log: quietLog}, demo)
	for proto, cl := range n.clients(t) {
		for _, name := range []string{"a", "b"} {
			resp, err := cl.c.Get(cl.base + "/api/hello-edge-go?name=" + name)
			if err != nil {
				t.Fatalf("%s: %v", proto, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := "Hello, " + name + "! (from Go, edge ABI)\n"
			if resp.StatusCode != http.StatusOK || string(body) != want {
				t.Fatalf("%s: %d %q, want 200 %q", proto, resp.StatusCode, body, want)
			}
		}
	}
}
