package backend

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// Config is the route's env: MEDIA_KEY signs tokens, API_KEY stands for
// the customer's own authentication at POST /token, RENDITIONS lists the
// ladder.
type Config struct {
	MediaKey   []byte
	APIKey     string
	Renditions []Rendition
}

// ConfigFrom reads a Config from environment lookups.
func ConfigFrom(getenv func(string) string) (*Config, error) {
	c := &Config{MediaKey: []byte(getenv("MEDIA_KEY")), APIKey: getenv("API_KEY")}
	if len(c.MediaKey) < 16 || len(c.APIKey) < 16 {
		return nil, errors.New("MEDIA_KEY and API_KEY must be set, 16 bytes at least")
	}
	rs, err := ParseRenditions(getenv("RENDITIONS"))
	if err != nil {
		return nil, err
	}
	c.Renditions = rs
	return c, nil
}

// Request is what the handler needs of an HTTP request.
type Request struct {
	Method string
	Path   string // the full path: /media/master.m3u8
	Query  url.Values
	Header func(name string) string
	Body   string
}

// Response is what it answers. Static, when set, names the app's static
// file the node sends (X-Edge-Static) in place of Body.
type Response struct {
	Status       int
	ContentType  string
	CacheControl string
	Static       string
	Body         string
	Log          string // why a request was refused, for the node's log
}

// DefaultTTL is how long a token lasts unless asked otherwise; MaxTTL
// caps what may be asked.
const (
	DefaultTTL = time.Hour
	MaxTTL     = 24 * time.Hour
)

// Handle answers one request at time now.
func (c *Config) Handle(r Request, now time.Time) Response {
	switch {
	case r.Path == "/token":
		return c.issue(r, now)
	case r.Method != "GET" && r.Method != "HEAD":
		return Response{Status: 405, ContentType: "text/plain", Body: "GET or HEAD\n"}
	case r.Path == "/media/master.m3u8":
		return c.master(r, now)
	case strings.HasPrefix(r.Path, "/media/"):
		return c.file(strings.TrimPrefix(r.Path, "/media/"), now)
	}
	return Response{Status: 404, ContentType: "text/plain", Body: "not found\n"}
}

// issue is POST /token: the customer's backend (holding API_KEY) asks
// for a viewer's token.
func (c *Config) issue(r Request, now time.Time) Response {
	if r.Method != "POST" {
		return Response{Status: 405, ContentType: "text/plain", Body: "POST\n"}
	}
	if subtle.ConstantTimeCompare([]byte(r.Header("X-Api-Key")), []byte(c.APIKey)) != 1 {
		return Response{Status: 401, ContentType: "text/plain", Body: "X-Api-Key is missing or wrong\n", Log: "bad api key"}
	}
	form, err := url.ParseQuery(r.Body)
	viewer := form.Get("viewer")
	if err != nil || !viewerID.MatchString(viewer) {
		return Response{Status: 400, ContentType: "text/plain", Body: "viewer: 1-64 of A-Z a-z 0-9 _ -\n"}
	}
	ttl := DefaultTTL
	if s := form.Get("ttl"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || time.Duration(n)*time.Second > MaxTTL {
			return Response{Status: 400, ContentType: "text/plain", Body: "ttl: 1 to 86400 seconds\n"}
		}
		ttl = time.Duration(n) * time.Second
	}
	exp := now.Add(ttl).Truncate(time.Second)
	tok := Sign(c.MediaKey, Claims{Viewer: viewer, Scope: "master", Expires: exp})
	body, _ := json.Marshal(map[string]any{
		"viewer": viewer, "token": tok, "expires": exp.UTC().Format(time.RFC3339),
		"master": "/media/master.m3u8?" + url.Values{"viewer": {viewer}, "t": {tok}}.Encode(),
	})
	return Response{Status: 200, ContentType: "application/json", CacheControl: "no-store", Body: string(body) + "\n"}
}

// master is the viewer's master playlist, filtered by the hints.
func (c *Config) master(r Request, now time.Time) Response {
	claims, err := Verify(c.MediaKey, r.Query.Get("t"), "master", now)
	if err == nil && claims.Viewer != r.Query.Get("viewer") {
		err = ErrViewer
	}
	if err != nil {
		return forbidden(err)
	}
	maxBitrate, _ := strconv.Atoi(r.Query.Get("max_bitrate"))
	variant := VariantSegments
	if r.Query.Get("variant") == "byterange" {
		variant = VariantByteRange
	}
	rs := Filter(c.Renditions, maxBitrate, r.Header("X-Device-Class"))
	body := Master(c.MediaKey, claims.Viewer, rs, variant, claims.Expires)
	return Response{Status: 200, ContentType: "application/vnd.apple.mpegurl", CacheControl: "private, no-store", Body: body}
}

// file authorises TOKEN/[br/]REND/FILE and names the static file.
func (c *Config) file(rest string, now time.Time) Response {
	parts := strings.Split(rest, "/")
	variant := VariantSegments
	if len(parts) == 4 && parts[1] == "br" {
		variant, parts = VariantByteRange, []string{parts[0], parts[2], parts[3]}
	}
	if len(parts) != 3 || !safeName(parts[1]) || !safeName(parts[2]) {
		return refuseFile(ErrScope)
	}
	tok, rend, name := parts[0], parts[1], parts[2]
	if _, err := Verify(c.MediaKey, tok, variant+"/"+rend, now); err != nil {
		return refuseFile(err)
	}
	cc := "public, max-age=31536000, immutable" // segments never change
	if path.Ext(name) == ".m3u8" {
		cc = "public, max-age=60"
	}
	return Response{Status: 200, CacheControl: cc, Static: "/" + variant + "/" + rend + "/" + name}
}

// forbidden is the one answer to any refused token: 403, no body that
// says which check failed, and nothing of the file.
func forbidden(err error) Response {
	return Response{Status: 403, ContentType: "text/plain", CacheControl: "no-store", Body: "forbidden\n", Log: err.Error()}
}

// refuseFile is forbidden with no body at all: a refused playlist or
// segment request gets a 403 and not one body byte.
func refuseFile(err error) Response {
	r := forbidden(err)
	r.ContentType, r.Body = "", ""
	return r
}

// safeName is a path segment with no way out of its directory.
func safeName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}
