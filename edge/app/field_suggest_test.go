package app

import (
	"strings"
	"testing"
)

// TestUnknownFieldSuggests: a typo'd field is refused naming the field it
// is nearest to; a key near nothing gets no guess.
func TestUnknownFieldSuggests(t *testing.T) {
	const route = "name = \"a\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/\"\n"
	for src, want := range map[string]string{
		route + "scirpt = \"h.js\"\n":              "routes[0].scirpt: unknown field (did you mean script?)",
		route + "origin_tmeout = \"1s\"\n":         "routes[0].origin_tmeout: unknown field (did you mean origin_timeout?)",
		"nmae = \"a\"\n" + route[11:]:              "nmae: unknown field (did you mean name?)",
		route + "colour = \"red\"\n":               "routes[0].colour: unknown field",
		route + "module = \"a.wasm\"\nmodul = 1\n": "routes[0].modul: unknown field (did you mean module?)",
	} {
		_, err := ParseConfig("edge.toml", []byte(src))
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("%q: got %v, want it to end with %q", src, err, want)
		}
	}
}
