package main

import (
	"testing"
)

// TestObjectCacheFlag: --object-cache takes a size, "off", or refuses junk.
func TestObjectCacheFlag(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want int64
		ok   bool
	}{
		{"256MiB", 256 << 20, true},
		{"1GB", 1e9, true},
		{"4096", 4096, true},
		{"off", -1, true},
		{"0", 0, true},
		{"lots", 0, false},
		{"-5MiB", 0, false},
	} {
		cfg, err := parseServeFlags(t, "--object-cache", tc.arg)
		if (err == nil) != tc.ok || (tc.ok && cfg.ObjectCache != tc.want) {
			t.Errorf("--object-cache %s: %d, err %v; want %d, ok %v", tc.arg, cfg.ObjectCache, err, tc.want, tc.ok)
		}
	}
}
