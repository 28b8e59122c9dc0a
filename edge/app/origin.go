package app

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"time"
)

// Origin is where an origin route sends requests, ready to use.
type Origin struct {
	URL     *url.URL // scheme, host and an optional base path (no trailing slash)
	Host    string   // Host header sent upstream: origin_host, or URL.Host
	Timeout time.Duration
	// Roots are extra CAs trusted for this origin (besides the system's);
	// nil when origin_ca is not set.
	Roots *x509.CertPool
	// Key names the connection pool: routes with the same origin and CA
	// share connections.
	Key string
}

func loadOrigin(fsys fs.FS, spec *OriginSpec) (*Origin, error) {
	u, err := ParseOriginURL(spec.Origin)
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	timeout, _ := parseTimeout(spec.OriginTimeout) // validated with the config
	if timeout == 0 {
		timeout = DefaultOriginTimeout
	}
	o := &Origin{URL: u, Host: spec.OriginHost, Timeout: timeout, Key: u.Scheme + "://" + u.Host}
	if o.Host == "" {
		o.Host = u.Host
	}
	if spec.OriginCA == "" {
		return o, nil
	}
	name := path.Clean(spec.OriginCA)
	if !fs.ValidPath(name) {
		return nil, fmt.Errorf("origin_ca: %q must be a relative path inside the app directory", spec.OriginCA)
	}
	pem, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("origin_ca: %s: %w", spec.OriginCA, unwrapPath(err))
	}
	o.Roots, err = rootsWithSystem(pem)
	if err != nil {
		return nil, fmt.Errorf("origin_ca: %s: %w", spec.OriginCA, err)
	}
	sum := sha256.Sum256(pem)
	o.Key += " ca=" + hex.EncodeToString(sum[:8])
	return o, nil
}

// rootsWithSystem is the system pool plus the PEM certificates given.
func rootsWithSystem(pem []byte) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate in the file")
	}
	return pool, nil
}
