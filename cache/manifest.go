package cache

import (
	"regexp"
	"sort"
	"time"
)

// Manifest is one deployed version of an app: the files it is made of, by
// digest, and the deployer's signature (which package gossip/trust makes
// and checks; the cache only stores it). The node adds Version; the rest
// is what the deployer signed.
type Manifest struct {
	App       string             `json:"app"`
	Version   int                `json:"version,omitempty"`
	Files     map[string]FileRef `json:"files"`
	Created   time.Time          `json:"created"`
	Signer    string             `json:"signer"`              // base64 ed25519 public key
	Signature string             `json:"signature,omitempty"` // base64, over SigningBytes
}

// FileRef names one file's content.
type FileRef struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// Paths lists the files in sorted order.
func (m *Manifest) Paths() []string {
	ps := make([]string, 0, len(m.Files))
	for p := range m.Files {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// Digests lists the distinct digests the manifest names, sorted. Call
// Check first: digests that do not parse are skipped.
func (m *Manifest) Digests() []Digest {
	seen := map[Digest]bool{}
	var out []Digest
	for _, p := range m.Paths() {
		d, err := ParseDigest(m.Files[p].Digest)
		if err == nil && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// TotalSize is the sum of the file sizes.
func (m *Manifest) TotalSize() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// dnsLabel is a lower-case DNS label: 1-63 of a-z, 0-9 and '-', with no
// '-' at either end.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidLabel reports whether s is a lower-case DNS label. App names are
// labels, so that a name can be a key, a file name and a host name alike;
// host names are dot-separated labels.
func ValidLabel(s string) bool { return dnsLabel.MatchString(s) }
