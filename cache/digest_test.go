package cache_test

import (
	"strings"
	"testing"

	"github.com/edgecdn/edge/cache"
)

func TestParseDigest(t *testing.T) {
	d := cache.Sum([]byte("hello, edge"))
	const hex = "46bb9ee5ae7248c554b6345d49ea3b13e1c07a611c25671317a2163c31373d76"
	if d.String() != hex {
		t.Fatalf("Sum(...).String() = %s, want %s", d, hex)
	}
	cases := []struct {
		in string
		ok bool
	}{
		{hex, true},
		{strings.ToUpper(hex), true},
		{"", false},
		{hex[:63], false},
		{hex + "0", false},
		{hex[:62] + "zz", false},
		{"sha256:" + hex[:57], false},
	}
	for _, tc := range cases {
		got, err := cache.ParseDigest(tc.in)
		if tc.ok && (err != nil || got != d) {
			t.Errorf("ParseDigest(%q) = %s, %v; want %s", tc.in, got, err, d)
		}
		if !tc.ok && err == nil {
			t.Errorf("ParseDigest(%q) = %s, nil; want an error", tc.in, got)
		}
	}
}
