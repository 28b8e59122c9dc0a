// Command benchrun is `make bench`: it serves the same files with the same
// certificate authority from the edge node, nginx, Caddy and a Go
// standard-library server (edge/internal/benchpeer), one after another on
// loopback, loads each with bombardier (HTTP/1.1), h2load (HTTP/2) and the
// project's own quic-go load generator (HTTP/3), runs the dynamic C hello
// guests against a bare net/http hello server in its own process, and
// prints one markdown table with the ratio edge/peer on every peer row.
//
// The load generator shares the machine with the server: absolute figures
// move with the machine's load, ratios from one run are what to compare.
//
//	go run ./edge/internal/benchrun -d 10s
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	d := flag.Duration("d", 10*time.Second, "length of each row's measurement")
	smoke := flag.Bool("smoke", false, "check the harness only: every row must answer, no figures compared")
	keep := flag.Bool("keep", false, "keep the work directory (configs, logs)")
	flag.StringVar(&prebuiltEdge, "edge", "", "use this edge binary instead of building ./cmd/edge (to compare two builds)")
	flag.IntVar(&rounds, "rounds", 3, "times each row runs, servers interleaved; the median is reported")
	only := flag.String("servers", "", "comma-separated servers to run (default: all), e.g. edge,nginx")
	flag.StringVar(&onlyTests, "tests", "", "comma-separated tests to run, by prefix (default: all), e.g. static")
	flag.StringVar(&onlyProtos, "protos", "", "comma-separated protocols to run (default: all), e.g. h3")
	flag.StringVar(&baselineEdge, "baseline", "", "also serve the static and dynamic rows from this edge binary, as the peer \"edge baseline\" (before/after in one run)")
	flag.StringVar(&profileDir, "profile", "", "write a CPU profile of the node under each of its rows into this directory")
	flag.Parse()
	onlyServers = *only
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	if err := run(*d, *smoke, *keep); err != nil {
		log.Fatal(err)
	}
}

func run(d time.Duration, smoke, keep bool) error {
	tools, err := findTools()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "edge-bench-")
	if err != nil {
		return err
	}
	if keep {
		log.Printf("work directory: %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	fx, err := newFixture(work, root)
	if err != nil {
		return err
	}
	if err := buildBinaries(root, fx); err != nil {
		return err
	}
	if *onlyMedia {
		return runMedia(fx, root, tools, d, rounds)
	}
	if *onlyCDN {
		return runCDN(fx, tools, d, rounds, smoke)
	}
	m := measurement{tests: selectedTests(), rounds: rounds, d: d, profile: true, load: func(l *live, r row) (result, error) {
		return load(tools, r.proto, l.url(r), d)
	}}
	if !smoke {
		m.warm = func(l *live, r row) { _, _ = load(tools, r.proto, l.url(r), time.Second) }
	}
	started := time.Now()
	rows, err := runTable(servers(fx, tools), m)
	if err != nil {
		return err
	}
	printTable(os.Stdout, rows, d, rounds, time.Since(started))
	if !smoke {
		printTargets(os.Stdout, rows)
	}
	if err := failedRow(rows); err != nil {
		return err
	}
	if *mediaRows {
		if err := runMedia(fx, root, tools, d, rounds); err != nil {
			return err
		}
	}
	if *cdnRows {
		return runCDN(fx, tools, d, rounds, smoke)
	}
	return nil
}

// rounds is how often each row runs.
var rounds int

// onlyServers limits a run to some servers, by name prefix.
var onlyServers string

// onlyTests limits a run to some tests, by name prefix.
var onlyTests string

// onlyProtos limits a run to some protocols (h1, h2, h3).
var onlyProtos string

func selected(name string) bool { return matchesAny(onlyServers, name) }

// selectedTests are the main table's tests that -tests selects.
func selectedTests() []string {
	var out []string
	for _, t := range tests {
		if matchesAny(onlyTests, t) {
			out = append(out, t)
		}
	}
	return out
}

// runTable starts the selected servers of all, measures their rows and
// stops them.
func runTable(all []server, m measurement) ([]result, error) {
	var chosen []server
	for _, sv := range all {
		if selected(sv.name) {
			chosen = append(chosen, sv)
		}
	}
	running, err := startAll(chosen)
	defer stopAll(running)
	if err != nil {
		return nil, err
	}
	return m.run(running), nil
}

// failedRow is an error naming the first row with failed requests.
func failedRow(rows []result) error {
	for _, r := range rows {
		if r.failed > 0 {
			return fmt.Errorf("%s %s %s: %d requests failed", r.server, r.row.test, r.row.proto, r.failed)
		}
	}
	return nil
}

// matchesAny reports whether name starts with one of the comma-separated
// prefixes in list; an empty list matches every name.
func matchesAny(list, name string) bool {
	if list == "" {
		return true
	}
	for _, s := range strings.Split(list, ",") {
		if s != "" && strings.HasPrefix(name, s) {
			return true
		}
	}
	return false
}

// tools are the load generators and peers found on the PATH.
type tools struct{ bombardier, h2load, nginx, caddy string }

func findTools() (tools, error) {
	var t tools
	var missing []string
	look := func(dst *string, name, pkg string) {
		p, err := exec.LookPath(name)
		if err != nil {
			if gp := goBin(name); gp != "" {
				p, err = gp, nil
			}
		}
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (%s)", name, pkg))
		}
		*dst = p
	}
	look(&t.bombardier, "bombardier", "go install github.com/codesenberg/bombardier@v1.2.6")
	look(&t.h2load, "h2load", "apt-get install nghttp2-client")
	look(&t.nginx, "nginx", "apt-get install nginx")
	look(&t.caddy, "caddy", "apt-get install caddy")
	if len(missing) > 0 {
		return t, fmt.Errorf("missing tools: %s (make bench-tools installs them)", strings.Join(missing, ", "))
	}
	return t, nil
}

// goBin finds a tool installed by go install but not on the PATH.
func goBin(name string) string {
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dirs := []string{lines[0]}
	if len(lines) > 1 {
		dirs = append(dirs, filepath.Join(lines[1], "bin"))
	}
	for _, dir := range dirs {
		if p := filepath.Join(dir, name); dir != "" && fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the edge repository")
	}
	return filepath.Dir(mod), nil
}

// prebuiltEdge, when set, is the edge binary to measure.
var prebuiltEdge string

// buildBinaries builds the node and the Go peer into the work directory.
func buildBinaries(root string, fx *fixture) error {
	builds := map[string]string{"./cmd/edge": fx.edgeBin, "./edge/internal/benchpeer": fx.peerBin}
	if prebuiltEdge != "" {
		delete(builds, "./cmd/edge")
		fx.edgeBin = prebuiltEdge
	}
	for pkg, out := range builds {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
		}
	}
	return nil
}
