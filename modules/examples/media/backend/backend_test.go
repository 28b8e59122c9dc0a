package backend_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules/examples/media/backend"
)

var (
	key  = []byte("test-media-key-0123456789abcdef")
	now  = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	conf = &backend.Config{MediaKey: key, APIKey: "customer-api-key-0123", Renditions: []backend.Rendition{
		{Name: "240p", Bandwidth: 400_000, Resolution: "426x240"},
		{Name: "360p", Bandwidth: 1_000_000, Resolution: "640x360"},
		{Name: "720p", Bandwidth: 2_800_000, Resolution: "1280x720"},
	}}
)

func sign(viewer, scope string, exp time.Time) string {
	return backend.Sign(key, backend.Claims{Viewer: viewer, Scope: scope, Expires: exp})
}

// TestTokenRefusals: every way a token can be wrong is refused, each with
// its own reason.
func TestTokenRefusals(t *testing.T) {
	good := sign("alice", "hls/720p", now.Add(time.Hour))
	payload, mac, _ := strings.Cut(good, ".")
	other := sign("alice", "hls/240p", now.Add(time.Hour))
	otherPayload, _, _ := strings.Cut(other, ".")
	cases := []struct {
		name, tok, scope string
		want             error
	}{
		{"forged signature", payload + "." + strings.Repeat("A", len(mac)), "hls/720p", backend.ErrForged},
		{"payload swapped", otherPayload + "." + mac, "hls/240p", backend.ErrForged},
		{"signed with another key", backend.Sign([]byte("another-key-0123456789"), backend.Claims{Viewer: "alice", Scope: "hls/720p", Expires: now.Add(time.Hour)}), "hls/720p", backend.ErrForged},
		{"expired", sign("alice", "hls/720p", now.Add(-time.Second)), "hls/720p", backend.ErrExpired},
		{"expires now", sign("alice", "hls/720p", now), "hls/720p", backend.ErrExpired},
		{"other path", good, "hls/240p", backend.ErrScope},
		{"other variant", good, "hls-br/720p", backend.ErrScope},
		// The MAC is 43 base64url characters: dropping the last 3 (two
		// bytes) leaves valid base64, so only the signature check can
		// refuse it. Dropping 5 left a partial group whose spare bits
		// depend on the MAC, which the strict decoder refused first.
		{"truncated", good[:len(good)-3], "hls/720p", backend.ErrForged},
		{"no dot", payload, "hls/720p", backend.ErrMalformed},
		{"empty", "", "hls/720p", backend.ErrMalformed},
		{"not base64", "!!!.???", "hls/720p", backend.ErrMalformed},
	}
	for _, c := range cases {
		if _, err := backend.Verify(key, c.tok, c.scope, now); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if cl, err := backend.Verify(key, good, "hls/720p", now); err != nil || cl.Viewer != "alice" {
		t.Fatalf("good token: %+v %v", cl, err)
	}
}

func get(path string, query url.Values, header map[string]string) backend.Request {
	return backend.Request{Method: "GET", Path: path, Query: query, Header: func(n string) string { return header[n] }}
}

// TestSegmentRefusedWithoutBytes: a segment request with a missing,
// forged, expired or other-path token gets 403, no body, and names no
// file, so the node sends nothing of it; a good one names the file.
func TestSegmentRefusedWithoutBytes(t *testing.T) {
	exp := now.Add(time.Hour)
	for name, p := range map[string]string{
		"missing":    "/media/720p/seg_000.m4s",
		"forged":     "/media/" + sign("alice", "hls/720p", exp)[:20] + "x.y/720p/seg_000.m4s",
		"expired":    "/media/" + sign("alice", "hls/720p", now.Add(-time.Minute)) + "/720p/seg_000.m4s",
		"other path": "/media/" + sign("alice", "hls/240p", exp) + "/720p/seg_000.m4s",
		"traversal":  "/media/" + sign("alice", "hls/720p", exp) + "/720p/..",
		"master tok": "/media/" + sign("alice", "master", exp) + "/720p/seg_000.m4s",
	} {
		r := conf.Handle(get(p, nil, nil), now)
		if r.Status != 403 || r.Static != "" || r.Body != "" {
			t.Errorf("%s: status %d, static %q, body %q", name, r.Status, r.Static, r.Body)
		}
	}
	r := conf.Handle(get("/media/"+sign("alice", "hls/720p", exp)+"/720p/seg_000.m4s", nil, nil), now)
	if r.Status != 200 || r.Static != "/hls/720p/seg_000.m4s" || !strings.Contains(r.CacheControl, "immutable") {
		t.Errorf("good segment: %+v", r)
	}
	r = conf.Handle(get("/media/"+sign("alice", "hls-br/360p", exp)+"/br/360p/media.mp4", nil, nil), now)
	if r.Status != 200 || r.Static != "/hls-br/360p/media.mp4" {
		t.Errorf("byte-range file: %+v", r)
	}
}

// TestMasterPersonalised: the master playlist is refused for another
// viewer's token, filtered by the hints, and each rendition's URI carries
// a token valid for that rendition alone.
func TestMasterPersonalised(t *testing.T) {
	tok := sign("alice", "master", now.Add(time.Hour))
	if r := conf.Handle(get("/media/master.m3u8", url.Values{"viewer": {"bob"}, "t": {tok}}, nil), now); r.Status != 403 {
		t.Errorf("alice's token replayed for bob: %d", r.Status)
	}
	r := conf.Handle(get("/media/master.m3u8", url.Values{"viewer": {"alice"}, "t": {tok}}, nil), now)
	if r.Status != 200 || strings.Count(r.Body, "#EXT-X-STREAM-INF") != 3 {
		t.Fatalf("full ladder: %d\n%s", r.Status, r.Body)
	}
	for _, line := range strings.Split(r.Body, "\n") {
		if strings.HasSuffix(line, "/720p/index.m3u8") {
			tok720, _, _ := strings.Cut(line, "/")
			if _, err := backend.Verify(key, tok720, "hls/720p", now); err != nil {
				t.Errorf("720p URI token: %v", err)
			}
			if _, err := backend.Verify(key, tok720, "hls/240p", now); err == nil {
				t.Error("the 720p token opens 240p too")
			}
		}
	}
	r = conf.Handle(get("/media/master.m3u8", url.Values{"viewer": {"alice"}, "t": {tok}}, map[string]string{"X-Device-Class": "mobile"}), now)
	if strings.Contains(r.Body, "720p") || !strings.Contains(r.Body, "360p") {
		t.Errorf("mobile ladder:\n%s", r.Body)
	}
	r = conf.Handle(get("/media/master.m3u8", url.Values{"viewer": {"alice"}, "t": {tok}, "max_bitrate": {"1"}}, nil), now)
	if strings.Count(r.Body, "#EXT-X-STREAM-INF") != 1 || !strings.Contains(r.Body, "240p") {
		t.Errorf("a cap below every rung keeps the lowest:\n%s", r.Body)
	}
}

// TestIssueToken: only the customer's key gets a token, for a valid viewer.
func TestIssueToken(t *testing.T) {
	post := func(key, body string) backend.Response {
		return conf.Handle(backend.Request{Method: "POST", Path: "/token", Body: body,
			Header: func(n string) string { return map[string]string{"X-Api-Key": key}[n] }}, now)
	}
	if r := post("wrong", "viewer=alice"); r.Status != 401 {
		t.Errorf("wrong api key: %d", r.Status)
	}
	if r := post(conf.APIKey, "viewer=../x"); r.Status != 400 {
		t.Errorf("bad viewer: %d", r.Status)
	}
	if r := post(conf.APIKey, "viewer=alice&ttl=999999"); r.Status != 400 {
		t.Errorf("ttl past the cap: %d", r.Status)
	}
	r := post(conf.APIKey, "viewer=alice")
	if r.Status != 200 || !strings.Contains(r.Body, `"master":"/media/master.m3u8?`) {
		t.Errorf("issue: %+v", r)
	}
}

// FuzzVerify: no token text panics the verifier or verifies unsigned.
func FuzzVerify(f *testing.F) {
	f.Add(sign("alice", "hls/720p", now.Add(time.Hour)))
	f.Add("a.b")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := backend.Verify(key, tok, "hls/720p", now)
		if err == nil && backend.Sign(key, c) != tok {
			t.Fatalf("verified a token that is not the signature of its claims: %q", tok)
		}
	})
}
