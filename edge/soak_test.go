package edge_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
)

// soakSample is one reading of the process's resources.
type soakSample struct {
	at         time.Duration
	rss        int64
	goroutines int
	fds        int
	requests   int64
}

// TestSoak (make soak; EDGE_SOAK=10m) serves static and dynamic routes
// over h1, h2 and h3 for the duration, sampling RSS, goroutines and open
// file descriptors every 5 s. The last third of the run must not sit
// above the middle third (after warm-up) by more than noise: a leak of
// goroutines, fds or memory per request shows as a climb.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("EDGE_SOAK"))
	if err != nil {
		t.Skip("soak: set EDGE_SOAK to a duration, e.g. 10m (make soak)")
	}
	n := startNode(t, edge.HandlerConfig{Log: quietLog}, loadDemo(t, newTestEngine(t)))
	clients := n.clients(t)
	paths := []string{"/", "/api/hello?name=soak"}
	var done atomic.Bool
	var served, failed atomic.Int64
	var wg sync.WaitGroup
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0", "HTTP/3.0", "plain"} {
		cl := clients[proto]
		for w := range 4 {
			wg.Go(func() {
				for i := w; !done.Load(); i++ {
					status, _, err := fetch(cl.c, cl.base+paths[i%len(paths)])
					if err != nil || status != 200 {
						failed.Add(1)
						continue
					}
					served.Add(1)
				}
			})
		}
	}
	var samples []soakSample
	start := time.Now()
	for time.Since(start) < d {
		time.Sleep(5 * time.Second)
		samples = append(samples, soakSample{time.Since(start), rssBytes(t), runtime.NumGoroutine(), openFDs(t), served.Load()})
	}
	done.Store(true)
	wg.Wait()
	var table strings.Builder
	for _, s := range samples {
		fmt.Fprintf(&table, "%6s  rss %4d MiB  goroutines %5d  fds %4d  requests %d\n", s.at.Round(time.Second), s.rss>>20, s.goroutines, s.fds, s.requests)
	}
	t.Logf("soak %v: %d requests served, %d failed\n%s", d, served.Load(), failed.Load(), table.String())
	if failed.Load() > 0 {
		t.Errorf("%d requests failed during the soak", failed.Load())
	}
	third := len(samples) / 3
	if third == 0 {
		return
	}
	mid, last := samples[third:2*third], samples[2*third:]
	check := func(what string, f func(soakSample) float64, slack float64) {
		m, l := meanOf(mid, f), meanOf(last, f)
		if l > m*1.2+slack {
			t.Errorf("%s climbs: %.0f in the middle third, %.0f in the last", what, m, l)
		}
	}
	check("RSS (MiB)", func(s soakSample) float64 { return float64(s.rss >> 20) }, 32)
	check("goroutines", func(s soakSample) float64 { return float64(s.goroutines) }, 50)
	check("open fds", func(s soakSample) float64 { return float64(s.fds) }, 16)
}

func meanOf(s []soakSample, f func(soakSample) float64) float64 {
	sum := 0.0
	for _, x := range s {
		sum += f(x)
	}
	return sum / float64(len(s))
}

func openFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count fds: %v", err)
	}
	return len(ents)
}
