package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	mrand "math/rand/v2"

	"github.com/edgecdn/edge/modules/examples/media/backend"
)

// The media rows' keys and ladder: the route's env on the node, the
// environment of the native Go handler (benchpeer -media).
const (
	mediaKey        = "bench-media-signing-key-0123456789"
	mediaAPIKey     = "bench-customer-api-key-0123"
	mediaRenditions = "240p:400000:426x240,360p:1000000:640x360,720p:2800000:1280x720"
	mediaViewer     = "bench"
	mediaSegment    = 2 << 20 // bytes, as the segments
	mediaRange      = "bytes=524288-1572863"
)

// mediaApp is the media example's edge.toml (modules/examples/media/site)
// with the bench's keys: the segments internal, every request through the
// pre-initialised edge ABI guest, which hands verified ones to the node
// (X-Edge-Static).
const mediaApp = `name = "media"
hosts = ["*"]

[[routes]]
path = "/..."
static = "public"

[[routes]]
path = "/hls/..."
static = "hls"
internal = true

[[routes]]
path = "/media/..."
module = "media.wasm"
executor = "edge"
timeout = "2s"
env = { MEDIA_KEY = "` + mediaKey + `", API_KEY = "` + mediaAPIKey + `", RENDITIONS = "` + mediaRenditions + `" }
`

// mediaEnv is the same env for the native handler.
func mediaEnv() []string {
	return []string{"MEDIA_KEY=" + mediaKey, "API_KEY=" + mediaAPIKey, "RENDITIONS=" + mediaRenditions}
}

// mediaFixture is the media app directory: the committed guest, the
// bench's edge.toml, and 2 MiB segments of random bytes under
// hls/720p (what nginx and Caddy serve from the same directory).
type mediaFixture struct {
	// fixture's appDir, public (for nginx and Caddy) and edgeData are the
	// media app's, so its servers start as the static rows' do.
	fixture
}

func newMediaFixture(fx *fixture, root string) (*mediaFixture, error) {
	mf := &mediaFixture{fixture: *fx}
	mf.work = filepath.Join(fx.work, "media")
	mf.appDir = filepath.Join(mf.work, "app")
	mf.public = mf.appDir
	mf.edgeData = filepath.Join(mf.work, "edge-data")
	seg := filepath.Join(mf.public, "hls", "720p")
	for _, d := range []string{seg, filepath.Join(mf.public, "public")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	wasm, err := os.ReadFile(filepath.Join(root, "modules", "examples", "media", "site", "media.wasm"))
	if err != nil {
		return nil, err
	}
	rng := mrand.NewChaCha8([32]byte{17})
	b := make([]byte, mediaSegment)
	_, _ = rng.Read(b)
	files := map[string][]byte{
		"edge.toml": []byte(mediaApp), "media.wasm": wasm,
		"public/index.html": []byte("media bench\n"), "hls/720p/seg_000.m4s": b,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(mf.public, filepath.FromSlash(name)), data, 0o644); err != nil {
			return nil, err
		}
	}
	// The node's TLS comes from the same dev CA as the static rows'.
	tlsDir := "tls"
	if err := os.CopyFS(filepath.Join(mf.edgeData, tlsDir), os.DirFS(filepath.Join(fx.edgeData, tlsDir))); err != nil {
		return nil, fmt.Errorf("media: copy the dev CA: %w", err)
	}
	return mf, nil
}

// mediaPaths are the URLs each kind of server is measured on: the node and
// the native handler check a token signed for the viewer (valid a day);
// nginx and Caddy serve the file as it is.
func mediaPaths() (signedSegment, plainSegment, master string) {
	exp := time.Now().Add(24 * time.Hour)
	seg := backend.Sign([]byte(mediaKey), backend.Claims{Viewer: mediaViewer, Scope: backend.VariantSegments + "/720p", Expires: exp})
	tok := backend.Sign([]byte(mediaKey), backend.Claims{Viewer: mediaViewer, Scope: "master", Expires: exp})
	return "/media/" + seg + "/720p/seg_000.m4s", "/hls/720p/seg_000.m4s",
		"/media/master.m3u8?" + url.Values{"viewer": {mediaViewer}, "t": {tok}}.Encode()
}
