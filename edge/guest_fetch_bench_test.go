package edge_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkGuestFetchCacheHit: a request runs the fetch guest, whose GET
// of an allowed API is a hit in the node's HTTP cache. Compare
// BenchmarkNativeFetchHandler (the same answer from a Go handler that
// asks the API itself) in the same run:
//
//	go test -run '^$' -bench 'GuestFetchCacheHit|NativeFetchHandler' -count 3 ./edge/
func BenchmarkGuestFetchCacheHit(b *testing.B) {
	api := startOrigin(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, strings.Repeat("a", 1024))
	})
	n, _ := fetchNode(b, allowed(api.URL))
	url := "http://" + n.srv.HTTPAddr() + "/one"
	fetch := "GET " + api.URL + "/data\n\n"
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	benchPost(b, c, url, fetch) // fills the cache
	b.ReportAllocs()
	for b.Loop() {
		benchPost(b, c, url, fetch)
	}
	if h := api.hits.Load(); h != 1 {
		b.Fatalf("the API saw %d requests, want 1", h)
	}
}

// BenchmarkNativeFetchHandler is the baseline: a net/http handler that
// GETs the same API over a kept-alive connection and answers with it.
func BenchmarkNativeFetchHandler(b *testing.B) {
	api := startOrigin(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, strings.Repeat("a", 1024))
	})
	up := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		resp, err := up.Get(api.URL + "/data")
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(200)
		io.Copy(w, resp.Body)
	}))
	b.Cleanup(srv.Close)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	fetch := "GET " + api.URL + "/data\n\n"
	b.ReportAllocs()
	for b.Loop() {
		benchPost(b, c, srv.URL+"/one", fetch)
	}
}

func benchPost(b *testing.B, c *http.Client, url, body string) {
	resp, err := c.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || n < 1024 {
		b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
	}
}

// TestGuestFetchWaitingHoldsNoCPU measures what guests waiting on a slow
// API cost: each holds an OS thread and its guest slot, but no processor,
// so other requests keep running meanwhile. It asserts the latter (a
// request to the same node completes while 16 guests wait) and logs the
// process's CPU time and thread count over the wait.
func TestGuestFetchWaitingHoldsNoCPU(t *testing.T) {
	release := make(chan struct{})
	var arrived sync.WaitGroup
	const k = 16
	arrived.Add(k)
	api := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived.Done()
			<-release
		}
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "ok")
	})
	n, _ := fetchNode(t, allowed(api.URL))
	var wg sync.WaitGroup
	for i := range k { // distinct URLs: not collapsed into one fetch
		wg.Go(func() { guestFetch(t, n, "/one", "GET "+api.URL+"/slow?"+strconv.Itoa(i)+"\n\n") })
	}
	arrived.Wait() // every guest is inside its fetch
	threads0, cpu0, wall0 := threads(), cpuTime(), time.Now()
	status, body := guestFetch(t, n, "/one", "GET "+api.URL+"/fast\n\n")
	if status != 200 || !strings.HasSuffix(body, "\n\nok") {
		t.Errorf("a request while %d guests wait: %d %q", k, status, body)
	}
	time.Sleep(500 * time.Millisecond) // the window measured: the guests only wait
	t.Logf("while %d guests waited on their fetch: %v CPU in %v, %d OS threads (%d before the window)",
		k, cpuTime()-cpu0, time.Since(wall0).Round(time.Millisecond), threads(), threads0)
	close(release)
	wg.Wait()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func threads() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
