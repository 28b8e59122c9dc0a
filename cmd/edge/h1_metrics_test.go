package main

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestH1MetricsCountServedAndHandedOff: /metrics tells an operator how
// much HTTP/1.1 traffic the node's own server answered and how many
// connections went to net/http. A plain GET counts as served; a POST
// (a body, which the fast path never reads) hands its connection off.
func TestH1MetricsCountServedAndHandedOff(t *testing.T) {
	data := t.TempDir()
	p := startNode(t, data)
	metric := func(name string) int {
		t.Helper()
		_, text := getToken(t, data, "http://"+p.banner.admin+"/metrics")
		m := regexp.MustCompile(`(?m)^` + name + ` (\d+)`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("/metrics has no %s:\n%s", name, text)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	served0, handed0 := metric("edge_h1_requests_served_total"), metric("edge_h1_conns_handed_off_total")

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for range 3 {
		resp, err := client.Get(p.banner.http + "/")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := client.Post(p.banner.http+"/", "text/plain", strings.NewReader("a body"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	if got := metric("edge_h1_requests_served_total") - served0; got != 3 {
		t.Errorf("served went up by %d after 3 GETs, want 3", got)
	}
	if got := metric("edge_h1_conns_handed_off_total") - handed0; got != 1 {
		t.Errorf("handed off went up by %d after 1 POST, want 1", got)
	}
}
