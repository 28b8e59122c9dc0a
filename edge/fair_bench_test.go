package edge_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
)

// BenchmarkBesideHostileApp measures a good app's requests while another
// app holds every slot it may with guests that sleep (2×--max-in-flight
// sleepers queued and running): with the default share, and with a share
// of 100%, which is how every node behaved before shares (the hostile app
// then holds every slot, and the good app's requests wait --queue-wait,
// 200 ms here, then 503). It reports the good requests' success ratio.
//
//	go test -run '^$' -bench BesideHostileApp ./edge/
func BenchmarkBesideHostileApp(b *testing.B) {
	for _, share := range []int{edge.DefaultAppShare, 100} {
		b.Run(shareName(share), func(b *testing.B) { benchBesideHostile(b, share) })
	}
}

func shareName(share int) string {
	if share == 100 {
		return "share=100%(before)"
	}
	return "share=75%"
}

func benchBesideHostile(b *testing.B, share int) {
	const slots = edge.DefaultMaxInFlight
	hostile := loadSleepy(b, "hostile", "hostile.test", "1m")
	good := loadSleepy(b, "good", "good.test", "1m")
	n := startNode(b, edge.HandlerConfig{Log: quietLog, AppShare: share, QueueWait: 200 * time.Millisecond}, hostile, good)
	base := "http://" + n.srv.HTTPAddr()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * slots}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.Cleanup(func() { cancel(); wg.Wait() })
	for range 2 * slots {
		wg.Go(func() { _, _ = getHost(ctx, client, base+"/sleep", "hostile.test") })
	}
	lim := n.handler.Limiter()
	held := slots * share / 100
	eventually(b, func() bool { return lim.InFlightApp("hostile") == held })
	ok := 0
	for b.Loop() {
		if code, err := getHost(context.Background(), client, base+"/good", "good.test"); err == nil && code == http.StatusOK {
			ok++
		}
	}
	b.ReportMetric(float64(ok)/float64(b.N), "ok-ratio")
	b.ReportMetric(float64(lim.InFlightApp("hostile")), "hostile-slots")
}

// getHost sends a GET for url with the given Host and returns its status.
func getHost(ctx context.Context, c *http.Client, url, host string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, err
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
