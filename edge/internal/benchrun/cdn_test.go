package main

import (
	"strings"
	"testing"
)

// A smoke run without varnishd skips the Varnish rows with a warning; a
// measuring run (make bench, make bench-cdn) refuses to start without it,
// so that its table never silently lacks the h1 baseline.
func TestFindVarnishMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	saved := varnishDirs
	varnishDirs = []string{t.TempDir()}
	t.Cleanup(func() { varnishDirs = saved })

	p, err := findVarnish(true)
	if err != nil || p != "" {
		t.Fatalf("smoke run without varnishd: got %q, %v; want no path and no error", p, err)
	}
	if _, err := findVarnish(false); err == nil || !strings.Contains(err.Error(), "apt-get install varnish") {
		t.Fatalf("measuring run without varnishd: got %v; want an error naming the package", err)
	}
}
