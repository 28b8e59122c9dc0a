package trust

import (
	"bytes"
	"crypto/ed25519"
	"path"
	"strings"
	"testing"

	"github.com/edgecdn/edge/cache"
)

// FuzzParseKeyLine feeds a line of a trusted keys file, the scope of the
// --trust-key argument and an app name to the key parser. It never
// panics; what it accepts is a 32-byte key that formats back to itself,
// scoped by patterns path.Match takes; and the key it gives may sign for
// the app only if both the line's scope and the argument's allow it (the
// argument narrows a key file, never widens it).
func FuzzParseKeyLine(f *testing.F) {
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	line := FormatPublicKey(pub)
	for _, s := range [][3]string{
		{line, "", "blog"}, {line + " apps=blog,docs-*", "", "docs-a"}, {line + " apps=blog,docs-*", "docs-*", "docs-a"},
		{line + " apps=blog", "shop", "shop"}, {line + " apps=*", "blog", "shop"}, {line + " apps=[", "", "x"},
		{line + " apps=a/b", "", "a"}, {"edge-deploy-pub AAAA", "", "x"}, {"", "", ""}, {line + " apps=,", "", "x"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, line, argApps, app string) {
		argScope, err := parseScope(argApps)
		if err != nil {
			return
		}
		k, err := parseKeyLine(line, argScope)
		if err != nil {
			return
		}
		if len(k.Pub) != ed25519.PublicKeySize {
			t.Fatalf("%q: a key of %d bytes", line, len(k.Pub))
		}
		if again, err := ParsePublicKey(FormatPublicKey(k.Pub)); err != nil || !again.Equal(k.Pub) {
			t.Fatalf("%q: the key does not format back to itself: %v", line, err)
		}
		for _, p := range k.Apps {
			if _, err := path.Match(p, ""); err != nil || p == "" || strings.ContainsAny(p, "/ ") {
				t.Fatalf("%q narrowed by %q: scope pattern %q", line, argApps, p)
			}
		}
		fileOnly, err := parseKeyLine(line, nil)
		if err != nil {
			t.Fatalf("%q parses narrowed by %q, not alone: %v", line, argApps, err)
		}
		if !cache.ValidLabel(app) {
			return // signatures are checked for app names only (verifySigned's callers)
		}
		if k.Allows(app) && !(fileOnly.Allows(app) && (Key{Apps: argScope}).Allows(app)) {
			t.Fatalf("%q narrowed by %q (scope %q) allows %q, which the file's scope %q or the argument's refuses", line, argApps, k.Apps, app, fileOnly.Apps)
		}
	})
}
