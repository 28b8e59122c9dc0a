package trust

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
)

// Key is a trusted deploy key, perhaps limited to some apps.
type Key struct {
	Pub ed25519.PublicKey
	// Apps lists the app names or path.Match patterns ("docs-*") the key
	// may sign for; empty: every app.
	Apps []string
	// Source names the key in messages (its file).
	Source string
}

// Keyring is the deploy keys a node trusts.
type Keyring []Key

// Unscoped trusts each of pubs for every app.
func Unscoped(pubs ...ed25519.PublicKey) Keyring {
	out := make(Keyring, len(pubs))
	for i, p := range pubs {
		out[i] = Key{Pub: p}
	}
	return out
}

// Pubs lists the keys without their scopes.
func (r Keyring) Pubs() []ed25519.PublicKey {
	out := make([]ed25519.PublicKey, len(r))
	for i, k := range r {
		out[i] = k.Pub
	}
	return out
}

func (r Keyring) lookup(pub ed25519.PublicKey) (Key, bool) {
	for _, k := range r {
		if k.Pub.Equal(pub) {
			return k, true
		}
	}
	return Key{}, false
}

// Allows reports whether the key may sign for app.
func (k Key) Allows(app string) bool {
	if len(k.Apps) == 0 {
		return true
	}
	for _, p := range k.Apps {
		if ok, _ := path.Match(p, app); ok {
			return true
		}
	}
	return false
}

// Name is how messages call the key: its file, else its text.
func (k Key) Name() string {
	if k.Source != "" {
		return k.Source
	}
	return FormatPublicKey(k.Pub)
}

func (k Key) scope() string {
	if len(k.Apps) == 0 {
		return "every app"
	}
	return strings.Join(k.Apps, ",")
}

// Scope is the key's scope as `edge keys` shows it: "*" for every app.
func (k Key) Scope() string {
	if len(k.Apps) == 0 {
		return "*"
	}
	return strings.Join(k.Apps, ",")
}

// ReadTrustKey reads a --trust-key argument holding exactly one key; see
// ReadTrustKeys.
func ReadTrustKey(spec string) (Key, error) {
	keys, err := ReadTrustKeys(spec)
	if err != nil {
		return Key{}, err
	}
	if len(keys) != 1 {
		return Key{}, fmt.Errorf("trust: public key %s: %d keys, want one", keys[0].Source, len(keys))
	}
	return keys[0], nil
}

// ReadTrustKeys reads a --trust-key argument: FILE, or FILE:APPS with APPS
// a comma-separated list of app names or patterns (blog,docs-*). The file
// holds one key a line (blank lines and # comments skipped), so an
// operator adds or removes a key by editing it and sending SIGHUP; a line
// may carry a scope after its key: "edge-deploy-pub KEY apps=blog". Both
// given: the key may sign only apps that both allow.
func ReadTrustKeys(spec string) ([]Key, error) {
	file, apps := spec, ""
	if i := strings.LastIndex(spec, ":"); i >= 0 && !strings.Contains(spec[i:], "/") {
		if _, err := os.Stat(spec); err != nil { // a file name with ':' still works
			file, apps = spec[:i], spec[i+1:]
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("trust: public key: %w", err)
	}
	argScope, err := parseScope(apps)
	if err != nil {
		return nil, fmt.Errorf("trust: --trust-key %s: %w", spec, err)
	}
	var keys []Key
	for n, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parseKeyLine(line, argScope)
		if err != nil {
			return nil, fmt.Errorf("trust: public key %s line %d: %w", file, n+1, err)
		}
		k.Source = file
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("trust: public key %s: no key in the file", file)
	}
	return keys, nil
}

// parseKeyLine reads "edge-deploy-pub KEY [apps=LIST]", narrowed by the
// argument's scope.
func parseKeyLine(line string, argScope []string) (Key, error) {
	fields := strings.Fields(line)
	var fileApps string
	if n := len(fields); n > 0 && strings.HasPrefix(fields[n-1], "apps=") {
		fileApps = strings.TrimPrefix(fields[n-1], "apps=")
		fields = fields[:n-1]
	}
	pub, err := ParsePublicKey(strings.Join(fields, " "))
	if err != nil {
		return Key{}, err
	}
	scope, err := parseScope(fileApps)
	if err != nil {
		return Key{}, err
	}
	return Key{Pub: pub, Apps: intersect(scope, argScope)}, nil
}

// parseScope reads "blog,docs-*"; "" is no limit.
func parseScope(list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	var out []string
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if _, err := path.Match(p, ""); err != nil || p == "" || strings.ContainsAny(p, "/ ") {
			return nil, fmt.Errorf("app pattern %q is not a name or a pattern like docs-*", p)
		}
		out = append(out, p)
	}
	return out, nil
}

// intersect narrows scope a by b (nil: no limit). Patterns are kept from
// the narrower side when one side is unlimited; when both limit, a name
// must be allowed by both, so a pattern of either side is kept only if a
// pattern of the other covers every name it allows. Two patterns that
// merely overlap (blog-* and *-prod) keep neither: the scope may come out
// narrower than the exact intersection, never wider.
func intersect(a, b []string) []string {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	var out []string
	for _, side := range [2][2][]string{{a, b}, {b, a}} {
		for _, p := range side[0] {
			if !slices.Contains(out, p) && slices.ContainsFunc(side[1], func(q string) bool { return covers(q, p) }) {
				out = append(out, p)
			}
		}
	}
	if out == nil {
		out = []string{"-"} // nothing: no app name is "-"
	}
	return out
}

// covers reports whether pattern q allows every app name pattern p
// allows: they are the same, or q is "*" (every app name, a label, is
// one path element), or p is a plain name q matches.
func covers(q, p string) bool {
	if q == p || q == "*" {
		return true
	}
	ok, _ := path.Match(q, p)
	return ok && !strings.ContainsAny(p, `*?[\`)
}
