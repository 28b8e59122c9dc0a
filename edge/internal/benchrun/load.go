package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// result is one row's measurement. Latency is in microseconds.
type result struct {
	server           string
	row              row
	rps, p50, p99    float64
	mbps             float64 // response bytes read per second, in MB (1e6)
	requests, failed int64
	// cpuPerReq is the server's CPU time per request, in microseconds.
	cpuPerReq float64
	// genCPUPerReq is the load generator's CPU time per request, in
	// microseconds. The generator shares the machine's cores with the
	// server, so together they bound the req/s any server can show here:
	// cores / (server + generator CPU per request).
	genCPUPerReq float64
}

// The load each protocol gets, as in issue 13's first measurements.
const (
	h1Conns   = 64
	h2Conns   = 32
	h2Streams = 10
	h3Conns   = 32
)

func load(t tools, proto, url string, d time.Duration) (result, error) {
	var r result
	var err error
	switch proto {
	case "h1":
		r, err = bombardier(t.bombardier, url, d)
	case "h2":
		r, err = h2load(t.h2load, url, d)
	case "h3":
		r, err = h3load(url, d)
	default:
		err = fmt.Errorf("unknown protocol %q", proto)
	}
	if err == nil && r.requests == 0 {
		err = fmt.Errorf("no request succeeded")
	}
	if err == nil && r.failed > 0 {
		err = fmt.Errorf("%d of %d requests failed", r.failed, r.requests+r.failed)
	}
	return r, err
}

// bombardier: HTTP/1.1 keep-alive, fasthttp client, h1Conns connections.
func bombardier(bin, url string, d time.Duration) (result, error) {
	cmd := exec.Command(bin, "-c", strconv.Itoa(h1Conns), "-d", d.String(), "-k", "-l", "-p", "r", "-o", "j", url)
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("bombardier: %w", err)
	}
	var rep struct {
		Result struct {
			BytesRead        int64   `json:"bytesRead"`
			TimeTakenSeconds float64 `json:"timeTakenSeconds"`
			Req2xx           int64   `json:"req2xx"`
			Req3xx           int64   `json:"req3xx"`
			Req4xx           int64   `json:"req4xx"`
			Req5xx           int64   `json:"req5xx"`
			Others           int64   `json:"others"`
			Latency          struct {
				Percentiles map[string]float64 `json:"percentiles"`
			} `json:"latency"`
		} `json:"result"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return result{}, fmt.Errorf("bombardier output: %w\n%s", err, out)
	}
	res := rep.Result
	r := result{
		rps:      float64(res.Req2xx) / res.TimeTakenSeconds,
		p50:      res.Latency.Percentiles["50"],
		p99:      res.Latency.Percentiles["99"],
		mbps:     float64(res.BytesRead) / res.TimeTakenSeconds / 1e6,
		requests: res.Req2xx,
		failed:   res.Req3xx + res.Req4xx + res.Req5xx + res.Others,
	}
	r.genCPUPerReq = perRequest(childCPU(cmd), r.requests)
	return r, nil
}

// childCPU is the CPU time (user + system) a finished command used.
func childCPU(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// perRequest is cpu spread over n requests, in microseconds.
func perRequest(cpu time.Duration, n int64) float64 {
	if n <= 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / float64(n)
}

var (
	h2Finished = regexp.MustCompile(`finished in ([0-9.]+)(m?s), ([0-9.]+) req/s, ([0-9.]+)([KMG]?B)/s`)
	h2Requests = regexp.MustCompile(`requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored`)
)

// h2load: HTTP/2 over TLS, h2Conns connections of h2Streams streams each.
// Latency comes from its per-request log.
// extra are more h2load arguments (a header: "-H", "range: ...").
func h2load(bin, url string, d time.Duration, extra ...string) (result, error) {
	logf, err := os.CreateTemp("", "h2load-*.log")
	if err != nil {
		return result{}, err
	}
	logf.Close()
	defer os.Remove(logf.Name())
	secs := max(1, int(d.Round(time.Second)/time.Second))
	args := append([]string{"-c", strconv.Itoa(h2Conns), "-m", strconv.Itoa(h2Streams),
		"-D", strconv.Itoa(secs), "--warm-up-time", "1", "--log-file", logf.Name()}, extra...)
	cmd := exec.Command(bin, append(args, url)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("h2load: %w\n%s", err, out)
	}
	f := h2Finished.FindStringSubmatch(string(out))
	q := h2Requests.FindStringSubmatch(string(out))
	if f == nil || q == nil {
		return result{}, fmt.Errorf("h2load output not understood:\n%s", out)
	}
	var r result
	r.rps, _ = strconv.ParseFloat(f[3], 64)
	r.mbps, _ = strconv.ParseFloat(f[4], 64)
	switch f[5] { // h2load's units are binary
	case "KB":
		r.mbps *= 1 << 10
	case "MB":
		r.mbps *= 1 << 20
	case "GB":
		r.mbps *= 1 << 30
	}
	r.mbps /= 1e6
	r.requests, _ = strconv.ParseInt(q[4], 10, 64)
	failed, _ := strconv.ParseInt(q[5], 10, 64)
	errored, _ := strconv.ParseInt(q[6], 10, 64)
	r.failed = failed + errored
	// h2load's warm-up second is in its CPU time but not in its count.
	r.genCPUPerReq = perRequest(childCPU(cmd), r.requests+int64(r.rps))
	lat, err := h2Latencies(logf.Name())
	if err != nil {
		return r, err
	}
	r.p50, r.p99 = percentile(lat, 50), percentile(lat, 99)
	return r, nil
}

// h2Latencies reads the third column (microseconds) of h2load's log.
func h2Latencies(path string) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lat []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 3 {
			continue
		}
		if v, err := strconv.ParseFloat(cols[2], 64); err == nil {
			lat = append(lat, v)
		}
	}
	return lat, sc.Err()
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	if !slices.IsSorted(sorted) {
		slices.Sort(sorted)
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p/100))]
}

// h3load is the project's HTTP/3 load generator: h3Conns QUIC connections
// (h3Client), one request at a time on each, for d; header is name, value
// pairs sent with every request.
func h3load(url string, d time.Duration, header ...string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	type worker struct {
		lat           []float64
		ok, bad, read int64
		err           error
	}
	ws := make([]worker, h3Conns)
	var wg sync.WaitGroup
	cpu0 := selfCPU()
	start := time.Now()
	for i := range ws {
		wg.Go(func() {
			w := &ws[i]
			var c *h3Client
			defer func() {
				if c != nil {
					c.close()
				}
			}()
			for ctx.Err() == nil {
				t0 := time.Now()
				var err error
				if c == nil {
					if c, err = dialH3(ctx, url, header...); err != nil {
						w.bad, w.err = w.bad+1, err
						continue
					}
				}
				status, n, err := c.get(ctx)
				w.read += n
				switch {
				case err != nil && ctx.Err() == nil:
					w.bad, w.err = w.bad+1, err
					c.close()
					c = nil // a new connection for the next request
					continue
				case err != nil:
					continue
				case status/100 != 2: // 206 for a Range
					w.bad, w.err = w.bad+1, fmt.Errorf("status %d", status)
					continue
				}
				w.ok++
				w.lat = append(w.lat, float64(time.Since(t0).Microseconds()))
			}
		})
	}
	wg.Wait()
	took := time.Since(start).Seconds()
	var r result
	var lat []float64
	var firstErr error
	for _, w := range ws {
		r.requests += w.ok
		r.failed += w.bad
		lat = append(lat, w.lat...)
		r.mbps += float64(w.read)
		if firstErr == nil {
			firstErr = w.err
		}
	}
	r.rps, r.mbps = float64(r.requests)/took, r.mbps/took/1e6
	r.p50, r.p99 = percentile(lat, 50), percentile(lat, 99)
	r.genCPUPerReq = perRequest(selfCPU()-cpu0, r.requests)
	if r.failed > 0 && firstErr != nil {
		return r, fmt.Errorf("h3: %w", firstErr)
	}
	return r, nil
}
