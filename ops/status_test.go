package ops_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/edgecdn/edge/ops/api"
)

// TestStatusAndDashboardPage: the dashboard page is served without the
// token and holds no data; /v1/status needs the token and reports each
// app's requests, errors and latency percentiles.
func TestStatusAndDashboardPage(t *testing.T) {
	n := startMetricsNode(t, twoApps(t))
	for _, p := range []string{"/good", "/good", "/trap", "/files/a.txt"} {
		resp, err := http.Get("http://" + n.srv.HTTPAddr() + p)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	base := "http://" + n.admin.Addr()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `id="token"`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "connect-src 'self'") {
		t.Errorf("GET / = %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	for _, banned := range []string{"http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(string(page), "http://www.w3.org/2000/svg", ""), banned) {
			t.Errorf("the dashboard page fetches from elsewhere: it contains %q", banned)
		}
	}
	if status, _ := call(t, base+"/v1/status", ""); status != http.StatusUnauthorized {
		t.Errorf("/v1/status without the token = %d, want 401", status)
	}
	status, body := call(t, base+"/v1/status", token)
	if status != 200 {
		t.Fatalf("/v1/status = %d %s", status, body)
	}
	var st api.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	var one *api.AppTraffic
	for i := range st.Traffic {
		if st.Traffic[i].App == "one" {
			one = &st.Traffic[i]
		}
	}
	if one == nil || one.Requests != 4 || one.Errors != 1 || one.P50 <= 0 || one.P99 < one.P50 {
		t.Errorf("traffic of app one = %+v, want 4 requests, 1 error, p50 > 0", one)
	}
	if st.Guests["trap"] != 1 || !st.Ready {
		t.Errorf("status: guest failures %v, ready %v", st.Guests, st.Ready)
	}
}
