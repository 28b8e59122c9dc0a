package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkRestartGoGuest measures restart-to-first-dynamic-response for
// the Go hello guest: from starting the node process until the first
// response of the Go route arrives, with an empty cache (cold: the module
// is compiled) and with a warm one (its artifact is loaded). Both run in
// the same benchmark run, so the ratio is meaningful on a noisy machine.
//
// Metrics: ms/start is exec-to-first-response; ms/listen-to-first is from
// the node announcing its listeners to the first response.
//
//	go test -run '^$' -bench RestartGoGuest -benchtime 5x ./cmd/edge/
func BenchmarkRestartGoGuest(b *testing.B) {
	bin := edgeBinary(b)
	app := b.TempDir()
	wasm, err := os.ReadFile("../../modules/examples/demo/hello-go.wasm")
	if err != nil {
		b.Fatal(err)
	}
	writeBenchFile(b, filepath.Join(app, "hello-go.wasm"), wasm)
	writeBenchFile(b, filepath.Join(app, "edge.toml"), []byte("name = \"go\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/go\"\nmodule = \"hello-go.wasm\"\n"))

	warm := b.TempDir()
	restart(b, bin, app, warm) // fill the cache once
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			var total, fromListen []time.Duration
			for b.Loop() {
				data := warm
				if mode == "cold" {
					data = b.TempDir()
				}
				start, listen := restart(b, bin, app, data)
				total, fromListen = append(total, start), append(fromListen, listen)
			}
			b.ReportMetric(ms(median(total)), "ms/start")
			b.ReportMetric(ms(median(fromListen)), "ms/listen-to-first")
		})
	}
}

// restart starts a node, waits for the first 200 from the Go route, and
// stops it. It returns exec-to-response and listening-to-response.
func restart(b *testing.B, bin, app, data string) (time.Duration, time.Duration) {
	b.Helper()
	cmd := exec.Command(bin, "serve", "--data", data, "--app", app, "--http", "127.0.0.1:0", "--https", "", "--admin", "", "--log-level", "warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	addr := ""
	for addr == "" && sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "http:  http://"); ok {
			addr = strings.TrimSuffix(a, "/")
		}
	}
	listening := time.Now()
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if addr == "" {
		b.Fatal("node printed no http address")
	}
	resp, err := http.Get("http://" + addr + "/go?name=bench")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	done := time.Now()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Hello, bench!") {
		b.Fatalf("first response %d %q", resp.StatusCode, body)
	}
	return done.Sub(t0), done.Sub(listening)
}

func writeBenchFile(b *testing.B, path string, data []byte) {
	b.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
