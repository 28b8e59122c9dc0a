package edgetls

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
)

// Names lists the host names the node's apps serve, as the apps give them
// ("*" and IP addresses included: each user of the list keeps what it can
// certify). A certificate is only ever made for a name on this list, so a
// client choosing SNI names cannot make the node sign, order or cache
// anything. It is called on handshakes for names not yet cached and on
// every sync, so it must be cheap and safe for concurrent use; in the node
// it reads edge.Router.Apps, an atomic load.
type Names func() []string

// ErrNotServed is returned (wrapped) when a client asks, by SNI, for a
// name no app serves: the handshake fails without anything being issued.
var ErrNotServed = errors.New("no app serves this name")

// serves reports whether name (lower case, no trailing dot) is listed
// exactly. "*" never matches: it serves any Host, but certifies none.
func (n Names) serves(name string) bool {
	if n == nil || name == "" || name == "*" {
		return false
	}
	return slices.Contains(n(), name)
}

// normalName lower-cases an SNI name and drops a trailing dot.
func normalName(sni string) string {
	return strings.ToLower(strings.TrimSuffix(sni, "."))
}

// certifiable returns the listed names a certificate can be made for:
// exact DNS names, each once, sorted; no "*", no IP addresses.
func (n Names) certifiable() []string {
	if n == nil {
		return nil
	}
	var out []string
	for _, h := range n() {
		h = normalName(h)
		if _, err := netip.ParseAddr(h); err == nil || !validDNSName(h) {
			continue
		}
		out = append(out, h)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
