package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/edgecdn/edge/ops/api"
	"github.com/edgecdn/edge/ops/client"
)

// A node's admin API (here a stand-in answering GET /v1/apps), asked for
// what it serves.
func ExampleClient_Apps() {
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(api.AppList{Apps: []api.AppStatus{{Name: "site", Source: "site@v3", Active: 3}}})
	}))
	defer node.Close()

	c := client.New(node.URL, client.ResolveToken("a-token-of-16-chars", ""))
	apps, err := c.Apps(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range apps {
		fmt.Printf("%s v%d (%s)\n", a.Name, a.Active, a.Source)
	}
	// Output: site v3 (site@v3)
}
