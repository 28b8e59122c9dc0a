package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The cache rows (issue 15): cache hits of a 4 KiB object from the node's
// origin route (its RFC 9111 cache) against nginx proxy_cache and Varnish,
// all three in front of the same origin, and the node's own static 4 KiB
// file in the same process and run as the bar the hits must reach.
var (
	cdnRows     = flag.Bool("cdn", true, "run the cache rows (node origin route vs nginx proxy_cache and Varnish) after the others")
	onlyCDN     = flag.Bool("only-cdn", false, "run the cache rows alone")
	needVarnish = flag.Bool("need-varnish", false, "fail, rather than warn, when varnishd is missing (always so without -smoke)")
)

// The cache rows' names: the node's cache hits are edgeCache; the others
// are compared with it.
const (
	edgeCache    = "edge cache hit"
	edgeStatic   = "edge static file"
	nginxCache   = "nginx proxy_cache hit"
	varnishCache = "varnish hit"
	cdnTest      = "cache hit 4 KiB"
)

// The protocols of the cache rows: h1c is HTTP/1.1 in clear text (the
// only one Varnish speaks), h1 and h2 over TLS.
var cdnProtos = []string{"h1c", "h1", "h2"}

// cdnTarget is one thing measured on a cache server: a label (the node
// has two, its cache and its static file), a path and its protocols.
type cdnTarget struct {
	label, path string
	protos      []string
}

// cdnServer is one process: started on a TLS port and a plain port.
type cdnServer struct {
	name    string
	start   func(tlsPort, plainPort int) (*exec.Cmd, error)
	targets []cdnTarget
}

type cdnLive struct {
	cdnServer
	cmd              *exec.Cmd
	tlsBase, plnBase string
}

func (l *cdnLive) url(proto, path string) string {
	if proto == "h1c" {
		return l.plnBase + path
	}
	return l.tlsBase + path
}

func cdnServers(cf *cdnFixture, t tools, varnishd string) []cdnServer {
	all := []string{"h1c", "h1", "h2"}
	svs := []cdnServer{
		{name: edgeName, start: cf.startEdge, targets: []cdnTarget{
			{edgeCache, cdnObject, all}, {edgeStatic, smallFile, all}}},
		{name: "nginx", start: func(tp, pp int) (*exec.Cmd, error) { return cf.startNginx(t.nginx, tp, pp) },
			targets: []cdnTarget{{nginxCache, cdnObject, all}}},
	}
	if varnishd != "" {
		svs = append(svs, cdnServer{name: "varnish",
			start:   func(tp, pp int) (*exec.Cmd, error) { return cf.startVarnish(varnishd, tp, pp) },
			targets: []cdnTarget{{varnishCache, cdnObject, []string{"h1c"}}}})
	}
	return svs
}

// varnishDirs are searched for varnishd after the PATH: Debian puts it in
// /usr/sbin, which is not on every user's PATH.
var varnishDirs = []string{"/usr/sbin", "/usr/local/sbin"}

// findVarnish looks for varnishd: in a smoke run without -need-varnish
// its absence is a warning and the Varnish rows are skipped; otherwise
// it is an error (make bench-tools installs it).
func findVarnish(smoke bool) (string, error) {
	p, err := exec.LookPath("varnishd")
	if err == nil {
		return p, nil
	}
	for _, dir := range varnishDirs {
		if fileExists(filepath.Join(dir, "varnishd")) {
			return dir + "/varnishd", nil
		}
	}
	if smoke && !*needVarnish {
		fmt.Fprintln(os.Stderr, "bench: warning: varnishd not found (apt-get install varnish, or make bench-tools); the Varnish cache rows are skipped")
		return "", nil
	}
	return "", fmt.Errorf("varnishd not found: apt-get install varnish (make bench-tools installs it)")
}

// runCDN measures the cache rows and prints their table and targets.
func runCDN(fx *fixture, t tools, d time.Duration, rounds int, smoke bool) error {
	varnishd, err := findVarnish(smoke)
	if err != nil {
		return err
	}
	cf, err := newCDNFixture(fx)
	if err != nil {
		return err
	}
	defer cf.origin.srv.Close()
	started := time.Now()
	var chosen []cdnServer
	for _, sv := range cdnServers(cf, t, varnishd) {
		if selected(sv.name) {
			chosen = append(chosen, sv)
		}
	}
	running, err := startCDN(chosen)
	defer func() {
		for _, l := range running {
			stop(l.cmd)
		}
	}()
	if err != nil {
		return err
	}
	rows, err := measureCDN(running, cf.origin, t, d, rounds)
	if err != nil {
		return err
	}
	printCDNTable(os.Stdout, rows, d, rounds, time.Since(started), varnishd != "")
	if !smoke {
		printCDNTargets(os.Stdout, rows)
	}
	for _, r := range rows {
		if r.failed > 0 {
			return fmt.Errorf("%s %s: %d requests failed", r.server, r.row.proto, r.failed)
		}
	}
	return nil
}

// startCDN starts each server on two ports and warms it: one request for
// every target and protocol (the caches' first is a miss, fetched from
// the origin), so the loads measure hits only.
func startCDN(svs []cdnServer) ([]*cdnLive, error) {
	var all []*cdnLive
	for _, sv := range svs {
		tp, err := freePort()
		if err != nil {
			return all, err
		}
		pp, err := freePort()
		if err != nil {
			return all, err
		}
		cmd, err := sv.start(tp, pp)
		if err != nil {
			return all, fmt.Errorf("%s: %w", sv.name, err)
		}
		l := &cdnLive{cdnServer: sv, cmd: cmd,
			tlsBase: fmt.Sprintf("https://127.0.0.1:%d", tp), plnBase: fmt.Sprintf("http://127.0.0.1:%d", pp)}
		all = append(all, l)
		for _, tg := range sv.targets {
			for _, p := range tg.protos {
				if err := waitReady(l.url(p, tg.path), cmd); err != nil {
					return all, fmt.Errorf("%s: %w (log: %s)", sv.name, err, logTail(cmd))
				}
			}
		}
	}
	return all, nil
}

// measureCDN runs every protocol on every target that has it, rounds
// times, the servers' order reversed every other round; each row's median
// by req/s. A cache row's result counts the origin requests during its
// load (result.failed stays the load's failures).
func measureCDN(all []*cdnLive, o *cdnOrigin, t tools, d time.Duration, rounds int) ([]result, error) {
	var out []result
	for _, proto := range cdnProtos {
		got := map[string][]result{}
		var labels []string
		for round := range max(rounds, 1) {
			order := slices.Clone(all)
			if round%2 == 1 {
				slices.Reverse(order)
			}
			for _, l := range order {
				for _, tg := range l.targets {
					if !slices.Contains(tg.protos, proto) {
						continue
					}
					loadProto := strings.TrimSuffix(proto, "c")
					before := o.requests.Load()
					cpu0 := cpuSeconds(l.cmd.Process.Pid)
					profiled := func() error { return nil }
					if l.name == edgeName {
						profiled = startProfile(fmt.Sprintf("cdn-%s-%s-%d", strings.ReplaceAll(tg.label, " ", "-"), proto, round), d)
					}
					res, err := load(t, loadProto, l.url(proto, tg.path), d)
					if perr := profiled(); perr != nil {
						fmt.Fprintf(os.Stderr, "bench: %v\n", perr)
					}
					res.server, res.row = tg.label, row{test: cdnTest, proto: proto, path: tg.path}
					if res.requests > 0 {
						res.cpuPerReq = (cpuSeconds(l.cmd.Process.Pid) - cpu0) / float64(res.requests) * 1e6
					}
					if res.requests == 0 {
						res.failed = max(res.failed, 1)
					}
					if err != nil {
						fmt.Fprintf(os.Stderr, "bench: %s %s: %v\n", tg.label, proto, err)
					}
					misses := o.requests.Load() - before
					originDuring[tg.label+" "+proto] += misses
					fmt.Fprintf(os.Stderr, "bench: %-22s %-4s %9.0f req/s (origin requests during the load: %d)\n", tg.label, proto, res.rps, misses)
					if !slices.Contains(labels, tg.label) {
						labels = append(labels, tg.label)
					}
					got[tg.label] = append(got[tg.label], res)
				}
			}
		}
		pairHitStatic(proto, got[edgeCache], got[edgeStatic])
		for _, lb := range labels {
			rs := got[lb]
			slices.SortFunc(rs, func(a, b result) int { return cmp.Compare(a.rps, b.rps) })
			out = append(out, rs[len(rs)/2])
		}
	}
	return out, nil
}

// hitStaticRounds holds, by protocol, the node's cache-hit req/s over its
// static file's in each round: the two are loaded back to back in one
// process, so a round's ratio is freer of the machine's drift than the
// ratio of two medians, and their spread shows what one run can tell.
var hitStaticRounds = map[string][]float64{}

func pairHitStatic(proto string, hits, statics []result) {
	for i := range min(len(hits), len(statics)) {
		if hits[i].rps > 0 && statics[i].rps > 0 {
			hitStaticRounds[proto] = append(hitStaticRounds[proto], hits[i].rps/statics[i].rps)
		}
	}
}

// originDuring sums, by label and protocol, the origin requests seen
// while that row was loaded: a cache that serves hits adds none.
var originDuring = map[string]int64{}

// cdnRatio is the node's cache-hit req/s over label's, same protocol.
func cdnRatio(rows []result, proto, label string) (float64, bool) {
	var e, p float64
	for _, r := range rows {
		if r.row.proto != proto {
			continue
		}
		switch r.server {
		case edgeCache:
			e = r.rps
		case label:
			p = r.rps
		}
	}
	return e / p, e > 0 && p > 0
}

// printCDNTable writes the cache rows as a markdown table, each other row
// with the ratio of the node's cache hits to it.
func printCDNTable(w io.Writer, rows []result, d time.Duration, rounds int, took time.Duration, varnish bool) {
	fmt.Fprintf(w, "\nCache rows (issue 15) — %s; each row the median of %d runs of %s, servers interleaved; load average %s; took %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), rounds, d, loadAvg(), took.Round(time.Second))
	fmt.Fprintln(w, "| proto | server | req/s | p50 ms | p99 ms | edge cache/this | server CPU µs/req | load generator CPU µs/req | origin requests under load |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, proto := range cdnProtos {
		for _, r := range rows {
			if r.row.proto != proto {
				continue
			}
			ratio := ""
			if r.server != edgeCache {
				if x, ok := cdnRatio(rows, proto, r.server); ok {
					ratio = fmt.Sprintf("%.2f×", x)
				}
			}
			name := r.server
			if name == edgeCache {
				name = "**" + name + "**"
			}
			if r.failed > 0 {
				name += fmt.Sprintf(" (%d failed)", r.failed)
			}
			fmt.Fprintf(w, "| %s | %s | %.0f | %.2f | %.2f | %s | %.0f | %.0f | %d |\n",
				protoName(proto), name, r.rps, r.p50/1000, r.p99/1000, ratio, r.cpuPerReq, r.genCPUPerReq, originDuring[r.server+" "+proto])
		}
	}
	fmt.Fprintln(w, "\nOne 4 KiB object, `Cache-Control: public, max-age=3600`, from a Go origin in the bench process; each cache warmed with one request first. h1 clear: bombardier -c 64 over plain HTTP; h1 TLS: the same over TLS; h2: h2load -c 32 -m 10. \"edge static file\" is the same bytes from the node's static route, in the same node process.")
	if varnish {
		fmt.Fprintln(w, "Varnish has no TLS: it is measured on HTTP/1.1 in clear text only; the TLS and h2 rows compare the node with nginx alone.")
	} else {
		fmt.Fprintln(w, "varnishd was not found: no Varnish rows in this run.")
	}
}

func protoName(p string) string {
	switch p {
	case "h1c":
		return "h1 clear"
	case "h1":
		return "h1 TLS"
	}
	return p
}

// cdnTargetRatio is one of issue 15's targets: the node's cache hits over
// peer's, on proto, at least want.
type cdnTargetRatio struct {
	proto, peer string
	want        float64
}

// cdnTargets are issue 15's: hits at least the node's own static file on
// every protocol, and at least half of Varnish on HTTP/1.1.
var cdnTargets = []cdnTargetRatio{
	{"h1c", edgeStatic, 1}, {"h1", edgeStatic, 1}, {"h2", edgeStatic, 1},
	{"h1c", varnishCache, 0.5},
}

func printCDNTargets(w io.Writer, rows []result) {
	fmt.Fprintln(w, "\nTargets (issue 15), ratios from this run:")
	for _, t := range cdnTargets {
		x, ok := cdnRatio(rows, t.proto, t.peer)
		if !ok {
			continue
		}
		verdict := "met"
		if x < t.want {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "- %s %s: edge cache hit/%s %.2f×, target ≥ %.2f×: %s by req/s%s\n", cdnTest, protoName(t.proto), t.peer, x, t.want, verdict, roundsNote(t))
	}
}

// roundsNote is, for the hit/static target, the spread of the per-round
// ratios (hitStaticRounds).
func roundsNote(t cdnTargetRatio) string {
	rs := slices.Sorted(slices.Values(hitStaticRounds[t.proto]))
	if t.peer != edgeStatic || len(rs) < 2 {
		return ""
	}
	above := 0
	for _, x := range rs {
		if x >= 1 {
			above++
		}
	}
	return fmt.Sprintf(" (round by round: median %.2f×, %.2f–%.2f×, %d of %d rounds ≥ 1)", rs[len(rs)/2], rs[0], rs[len(rs)-1], above, len(rs))
}
