package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// profileDir, when set, is where a CPU profile of the node is written for
// every edge row it measures (-profile DIR): the node then runs with its
// admin API on loopback, and the profile covers the row's load.
var profileDir string

// profileToken is the admin token the profiled node is started with.
const profileToken = "bench-profile-token"

// adminPort is the profiled node's admin port (0: not profiling).
var adminPort int

// edgeAdminArgs are the node's admin flags: none, or loopback with a
// token when profiling.
func edgeAdminArgs() ([]string, error) {
	if profileDir == "" {
		return []string{"--admin", ""}, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	adminPort = l.Addr().(*net.TCPAddr).Port
	l.Close()
	return []string{"--admin", fmt.Sprintf("127.0.0.1:%d", adminPort), "--token", profileToken}, nil
}

// startProfile asks the node for a CPU profile of d, in the background;
// wait returns once it is written to profileDir under name.
func startProfile(name string, d time.Duration) (wait func() error) {
	if profileDir == "" || adminPort == 0 {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() { done <- fetchProfile(name, d) }()
	return func() error { return <-done }
}

func fetchProfile(name string, d time.Duration) error {
	secs := max(int(d.Seconds())-1, 1) // inside the load, not past it
	url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", adminPort, secs)
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+profileToken)
	resp, err := (&http.Client{Timeout: d + 30*time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("profile %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: %s", name, resp.Status)
	}
	if err := os.MkdirAll(profileDir, 0o755); err != nil {
		return err
	}
	file := strings.NewReplacer(" ", "-", ",", "").Replace(name) + ".pprof"
	f, err := os.Create(filepath.Join(profileDir, file))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("profile %s: %w", name, err)
	}
	return f.Close()
}
