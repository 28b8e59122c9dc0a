package backend

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Token errors. The client sees only 403; the log says which.
var (
	ErrMalformed = errors.New("token malformed")
	ErrForged    = errors.New("token signature does not match")
	ErrExpired   = errors.New("token expired")
	ErrScope     = errors.New("token is for another path")
	ErrViewer    = errors.New("token is for another viewer")
)

// Claims are what a token grants: Viewer may fetch what Scope names
// ("master", or "hls/720p": one rendition of one variant) until Expires.
type Claims struct {
	Viewer  string
	Scope   string
	Expires time.Time
}

// viewerID is what a viewer id may be: it travels in URLs and tokens.
var viewerID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

var b64 = base64.RawURLEncoding.Strict()

// Sign encodes c and its HMAC-SHA256 under key: payload.mac, both
// base64url, safe in a path segment.
func Sign(key []byte, c Claims) string {
	payload := c.Viewer + "|" + c.Scope + "|" + strconv.FormatInt(c.Expires.Unix(), 10)
	return b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(mac(key, payload))
}

func mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("edge-media-v1\n" + payload))
	return m.Sum(nil)
}

// Verify checks tok's signature, expiry and scope, and returns its claims.
func Verify(key []byte, tok, scope string, now time.Time) (Claims, error) {
	p, sig, ok := strings.Cut(tok, ".")
	payload, err1 := b64.DecodeString(p)
	got, err2 := b64.DecodeString(sig)
	if !ok || err1 != nil || err2 != nil {
		return Claims{}, ErrMalformed
	}
	if !hmac.Equal(got, mac(key, string(payload))) {
		return Claims{}, ErrForged
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 3 {
		return Claims{}, ErrMalformed
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	c := Claims{Viewer: parts[0], Scope: parts[1], Expires: time.Unix(exp, 0)}
	switch {
	case !now.Before(c.Expires):
		return c, ErrExpired
	case c.Scope != scope:
		return c, ErrScope
	}
	return c, nil
}
