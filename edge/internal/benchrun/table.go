package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// printTable writes the results as one markdown table, each peer row with
// the ratio of the node's req/s to the peer's in the same run.
func printTable(w io.Writer, rows []result, d time.Duration, rounds int, took time.Duration) {
	fmt.Fprintf(w, "\n`make bench` — %s, %s, %d cores, %s; each row the median of %d runs of %s, after 1 s of unmeasured load on each server, servers interleaved, load generator on the same cores; load average %s; run took %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), cpuModel(), runtime.NumCPU(), runtime.Version(), rounds, d, loadAvg(), took.Round(time.Second))
	writeRows(w, tests, rows, func(test string) string { return test })
	fmt.Fprintln(w, "\nh1: bombardier -c 64 over TLS (dynamic rows: plain HTTP); h2: h2load -c 32 -m 10; h3: the project's quic-go generator, 32 connections. nginx 1.22 (Debian) has no HTTP/3.")
}

// writeRows writes rows as a markdown table in the order of tests, each
// peer row with the ratio of the node's req/s to the peer's in the same
// run, and of their CPU time per request.
func writeRows(w io.Writer, tests []string, rows []result, label func(test string) string) {
	fmt.Fprintln(w, "| test | proto | server | req/s | p50 ms | p99 ms | MB/s | edge/peer req/s | server CPU µs/req | edge/peer per CPU | load generator CPU µs/req |")
	fmt.Fprintln(w, "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, test := range tests {
		for _, proto := range []string{"h1", "h2", "h3"} {
			for _, r := range rows {
				if r.row.test == test && r.row.proto == proto {
					writeRow(w, rows, r, label(test))
				}
			}
		}
	}
}

func writeRow(w io.Writer, rows []result, r result, test string) {
	ratio, cpuRatio := "", ""
	if r.server != edgeName {
		if x, ok := ratioTo(rows, r.row, r.server); ok {
			ratio = fmt.Sprintf("%.2f×", x)
		}
		if x, ok := cpuRatioTo(rows, r.row, r.server); ok {
			cpuRatio = fmt.Sprintf("%.2f×", x)
		}
	}
	name := r.server
	if name == edgeName {
		name = "**edge**"
	}
	if r.failed > 0 {
		name += fmt.Sprintf(" (%d failed)", r.failed)
	}
	fmt.Fprintf(w, "| %s | %s | %s | %.0f | %.2f | %.2f | %.1f | %s | %.0f | %s | %.0f |\n",
		test, r.row.proto, name, r.rps, r.p50/1000, r.p99/1000, r.mbps, ratio, r.cpuPerReq, cpuRatio, r.genCPUPerReq)
}

// ratioTo is the node's req/s over peer's on the same test and protocol.
func ratioTo(rows []result, rw row, peer string) (float64, bool) {
	e, p := pairOf(rows, rw, peer, func(r result) float64 { return r.rps })
	return e / p, e > 0 && p > 0
}

// cpuRatioTo is the peer's CPU per request over the node's: how many
// more requests the node serves per CPU-second.
func cpuRatioTo(rows []result, rw row, peer string) (float64, bool) {
	e, p := pairOf(rows, rw, peer, func(r result) float64 { return r.cpuPerReq })
	return p / e, e > 0 && p > 0
}

// pairOf is one figure of the node's and of peer's results on rw's test
// and protocol (0 where either has none).
func pairOf(rows []result, rw row, peer string, figure func(result) float64) (edge, other float64) {
	for _, r := range rows {
		if r.row.test != rw.test || r.row.proto != rw.proto {
			continue
		}
		switch r.server {
		case edgeName:
			edge = figure(r)
		case peer:
			other = figure(r)
		}
	}
	return edge, other
}

// target is one of issue 13's ratios.
type target struct {
	test, proto, peer string
	want              float64
	moonshot          bool
}

var targets = []target{
	{static4k, "h1", "go net/http + quic-go", 1.5, false}, {static4k, "h1", "caddy", 3, false}, {static4k, "h1", "nginx", 0.6, true},
	{static4k, "h2", "go net/http + quic-go", 1.5, false}, {static4k, "h2", "caddy", 3, false},
	{static4k, "h3", "go net/http + quic-go", 1.5, false}, {static4k, "h3", "caddy", 2, false},
	{static1m, "h2", "nginx", 0.9, false},
	{dynWAGI, "h1", "go net/http hello", 0.6, false}, {dynWAGI, "h1", "go net/http hello", 0.75, true},
	{dynEdgeABI, "h1", "go net/http hello", 0.6, false}, {dynEdgeABI, "h1", "go net/http hello", 0.75, true},
	// Issue 14: the JavaScript hello.
	{dynJS, "h1", "go net/http hello", 0.05, false}, {dynJS, "h1", "go net/http hello", 0.15, true},
}

// printTargets checks issues 13 and 14's targets against this run's ratios.
func printTargets(w io.Writer, rows []result) {
	fmt.Fprintln(w, "\nTargets (issues 13 and 14), ratios from this run:")
	for _, t := range targets {
		x, ok := ratioTo(rows, row{test: t.test, proto: t.proto}, t.peer)
		if !ok {
			continue
		}
		verdict := "met"
		if x < t.want {
			verdict = "MISSED"
		}
		kind := ""
		if t.moonshot {
			kind = " (moonshot)"
		}
		perCPU := ""
		if y, ok := cpuRatioTo(rows, row{test: t.test, proto: t.proto}, t.peer); ok {
			perCPU = fmt.Sprintf(" (per CPU-second: %.2f×)", y)
		}
		fmt.Fprintf(w, "- %s %s: edge/%s %.2f×%s, target ≥ %.2f×%s: %s by req/s\n", t.test, t.proto, t.peer, x, perCPU, t.want, kind, verdict)
	}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
