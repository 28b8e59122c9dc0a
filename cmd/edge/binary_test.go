package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var built struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// edgeBinary builds the real binary once per test run, for tests that
// start, kill and restart node processes.
func edgeBinary(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "edge-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "edge")
		built.out, built.err = exec.Command("go", "build", "-o", built.path, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.path
}

// process is a node started from the binary.
type process struct {
	cmd    *exec.Cmd
	banner banner
	mu     sync.Mutex
	log    strings.Builder // its stderr
	logged chan struct{}   // closed when stderr hits EOF
}

// startNode starts `edge serve` on free loopback ports with the given data
// dir and extra flags, and waits for its banner.
func startNode(t *testing.T, data string, args ...string) *process {
	t.Helper()
	p, stdout := spawnNode(t, data, args...)
	p.banner = readBanner(t, stdout)
	return p
}

// startNodeAsync starts a node without waiting for it: for tests that kill
// it at a random moment of its start.
func startNodeAsync(t *testing.T, data string, args ...string) *process {
	t.Helper()
	p, stdout := spawnNode(t, data, args...)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return p
}

func spawnNode(t testing.TB, data string, args ...string) (*process, io.Reader) {
	t.Helper()
	base := []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--admin", "127.0.0.1:0"}
	p := &process{cmd: exec.Command(edgeBinary(t), append(base, args...)...), logged: make(chan struct{})}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.logged)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() { p.kill() })
	return p, stdout
}

// kill ends the process at once (SIGKILL) and reaps it.
func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

// stop ends the process with SIGTERM and waits for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	// Read its log to the end first: Wait closes the pipe, and would cut
	// off lines not yet read.
	select {
	case <-p.logged:
	case <-time.After(15 * time.Second):
		p.kill()
		t.Fatal("node still running 15s after SIGINT")
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("node exit: %v\n%s", err, p.stderr())
	}
}

func (p *process) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitLog waits until the node has logged a line containing s.
func (p *process) waitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.stderr(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("node never logged %q:\n%s", s, p.stderr())
		}
		time.Sleep(time.Millisecond)
	}
}

// stage tells, from a killed node's log, how far its start had got.
func (p *process) stage() string {
	log := p.stderr()
	switch {
	case strings.Contains(log, "apps loaded"):
		return "started"
	case strings.Contains(log, "compiled module"):
		return "storing and importing"
	}
	return "compiling"
}

var loadedLine = regexp.MustCompile(`msg="apps loaded" .*compiled=(\d+) from_cache=(\d+)`)

// loadCounts reads how many modules the node compiled and loaded from the
// cache at start, from its "apps loaded" log line.
func (p *process) loadCounts(t *testing.T) (compiled, fromCache int) {
	t.Helper()
	// The banner (stdout) can arrive before the log line (stderr) is read
	// from its own pipe: wait for the line rather than race it.
	p.waitLog(t, "apps loaded")
	m := loadedLine.FindStringSubmatch(p.stderr())
	if m == nil {
		t.Fatalf("no 'apps loaded' line in the node's log:\n%s", p.stderr())
	}
	compiled, _ = strconv.Atoi(m[1])
	fromCache, _ = strconv.Atoi(m[2])
	return compiled, fromCache
}

// edgeCLI runs the binary with args and returns its output and exit code.
func edgeCLI(t testing.TB, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(edgeBinary(t), args...).CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("edge %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}
