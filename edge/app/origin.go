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
	var key string
	o.Roots, key, err = loadRoots(fsys, spec.OriginCA)
	if err != nil {
		return nil, err
	}
	o.Key += key
	return o, nil
}

// loadRoots reads origin_ca, a PEM file inside the app directory: the
// system's roots plus its certificates, and a suffix naming them for a
// connection pool's key.
func loadRoots(fsys fs.FS, file string) (*x509.CertPool, string, error) {
	name := path.Clean(file)
	if !fs.ValidPath(name) {
		return nil, "", fmt.Errorf("origin_ca: %q must be a relative path inside the app directory", file)
	}
	pem, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, "", fmt.Errorf("origin_ca: %s: %w", file, unwrapPath(err))
	}
	roots, err := rootsWithSystem(pem)
	if err != nil {
		return nil, "", fmt.Errorf("origin_ca: %s: %w", file, err)
	}
	sum := sha256.Sum256(pem)
	return roots, " ca=" + hex.EncodeToString(sum[:8]), nil
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
