package app

import (
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"
)

// didYouMean suggests the known edge.toml field nearest an unknown key
// ("routes[0].scirpt: unknown field (did you mean script?)"), so a typo
// is fixed from the message alone. Nothing is suggested when no field is
// within two edits.
func didYouMean(key toml.Key) string {
	var known []string
	switch {
	case len(key) == 1:
		known = tomlFields(reflect.TypeFor[Config]())
	case len(key) == 2 && key[0] == "routes":
		known = tomlFields(reflect.TypeFor[RouteSpec]())
	}
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(key[len(key)-1], k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// tomlFields lists the toml names of t's fields, embedded structs' too.
func tomlFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if f.Anonymous {
			out = append(out, tomlFields(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("toml"), ","); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
