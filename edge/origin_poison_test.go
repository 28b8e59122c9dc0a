package edge_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// poisoningHeaders are the unkeyed request headers web cache poisoning
// research (PortSwigger's Param Miner list and kin) found origins and
// frameworks to honour: host, scheme, port, path and method overrides.
var poisoningHeaders = []string{
	"X-Forwarded-Host", "X-Host", "X-Forwarded-Server", "X-HTTP-Host-Override", "Forwarded",
	"X-Original-URL", "X-Rewrite-URL", "X-Original-Host", "X-Forwarded-Scheme", "X-Forwarded-Proto",
	"X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-SSL", "Front-End-Https", "X-Real-IP",
	"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Forwarded-For",
	"X-Forwarded-Path", "X-Original-Path", "X-Override-URL", "X-Proxy-URL", "X-Custom-IP-Authorization",
	"X-Forwarded-URI", "X-Envoy-Original-Path", "X-Client-IP", "True-Client-IP", "X-Originating-IP",
	"X-Remote-IP", "X-Remote-Addr", "X-Cluster-Client-IP",
}

// TestCacheNotPoisonedByKnownHeaders: a client sends each known poisoning
// header in turn (and all at once) on a miss; the origin echoes every
// request header it got. No value the client chose reaches the origin, so
// none reaches the stored response the next client is served.
func TestCacheNotPoisonedByKnownHeaders(t *testing.T) {
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		var lines []string
		for k, v := range r.Header {
			lines = append(lines, k+": "+strings.Join(v, ","))
		}
		sort.Strings(lines)
		fmt.Fprint(w, strings.Join(lines, "\n"))
	})
	n, _ := cachedNode(t, o, "", &clock{})
	base := "http://" + n.srv.HTTPAddr()
	for i, h := range append(poisoningHeaders, "all") {
		url := fmt.Sprintf("%s/page%d", base, i)
		req, _ := http.NewRequest("GET", url, nil)
		for _, name := range poisoningHeaders {
			if h == "all" || name == h {
				req.Header.Set(name, "evil.example")
			}
		}
		presp, err := http.DefaultClient.Do(req) // the miss: its answer is stored
		if err != nil {
			t.Fatal(err)
		}
		presp.Body.Close()
		_, shared := get(t, http.DefaultClient, url)
		if strings.Contains(shared, "evil") {
			t.Errorf("%s reached the origin and the shared response:\n%s", h, shared)
		}
	}
}
