package main

import (
	"context"
	"crypto/sha256"
	ctls "crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// builtMedia is the media site, built once per test binary.
var builtMedia struct {
	once sync.Once
	dir  string
	err  error
}

// mediaSite copies the media example's app to a temporary directory and
// builds its video and player there (ffmpeg, npm), as `make media-example`
// does for the example itself; once for all the tests that need it.
func mediaSite(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			why := tool + " is not installed (.ci/run installs ffmpeg and npm)"
			if os.Getenv("EDGE_REQUIRE_BROWSER") == "1" {
				t.Fatal(why)
			}
			t.Skip(why)
		}
	}
	builtMedia.once.Do(func() { builtMedia.dir, builtMedia.err = buildMediaSite() })
	if builtMedia.err != nil {
		t.Fatal(builtMedia.err)
	}
	return builtMedia.dir
}

func buildMediaSite() (string, error) {
	src := filepath.Join("..", "..", "modules", "examples", "media")
	site, err := os.MkdirTemp("", "edge-media-")
	if err != nil {
		return "", err
	}
	for _, f := range []string{"edge.toml", "media.wasm", "public/index.html"} {
		data, err := os.ReadFile(filepath.Join(src, "site", f))
		if err != nil {
			return "", err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(site, f)), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(site, f), data, 0o644); err != nil {
			return "", err
		}
	}
	if out, err := exec.Command("bash", filepath.Join(src, "build-media.sh"), site).CombinedOutput(); err != nil {
		return "", fmt.Errorf("build-media.sh: %w\n%s", err, out)
	}
	return site, nil
}

// mediaToken asks the media app for a viewer's master playlist URL, as the
// customer's backend would.
func mediaToken(t *testing.T, base, viewer string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/token", strings.NewReader(url.Values{"viewer": {viewer}}.Encode()))
	req.Header.Set("X-Api-Key", "change-me-customer-api-key")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Master string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || out.Master == "" {
		t.Fatalf("POST /token: %d %v", resp.StatusCode, err)
	}
	return out.Master
}

// leafSPKI is the base64 sha256 of the served leaf certificate's public
// key, which Chromium accepts for QUIC in place of a trusted chain.
func leafSPKI(t *testing.T, addr string) string {
	t.Helper()
	conn, err := ctls.Dial("tcp", addr, &ctls.Config{InsecureSkipVerify: true, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	leaf := conn.ConnectionState().PeerCertificates[0]
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestMediaForgedSegmentGetsNoBytes: over HTTPS, a segment fetched with a
// forged token gets 403 and zero body bytes.
func TestMediaForgedSegmentGetsNoBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the media ladder with ffmpeg")
	}
	site := mediaSite(t)
	node := startNode(t, t.TempDir(), "--app", site)
	// The guest is Go on the edge ABI, served from its snapshot.
	node.waitLogLine(t, `msg="pre-initialised module"`, "media.wasm")
	master := mediaToken(t, node.banner.http, "alice")
	resp, err := http.Get(node.banner.http + master)
	if err != nil {
		t.Fatal(err)
	}
	playlist, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rendition string
	for _, line := range strings.Split(string(playlist), "\n") {
		if strings.HasSuffix(line, "/720p/index.m3u8") {
			rendition = strings.TrimSuffix(line, "index.m3u8")
		}
	}
	if rendition == "" {
		t.Fatalf("no 720p rendition in the master playlist:\n%s", playlist)
	}
	good := node.banner.http + "/media/" + rendition + "seg_001.m4s"
	forged := node.banner.http + "/media/" + strings.Replace(rendition, ".", ".A", 1) + "seg_001.m4s"
	for name, u := range map[string]string{"good": good, "forged": forged} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case name == "good" && (resp.StatusCode != 200 || len(body) < 10_000 || resp.Header.Get("Content-Type") != "video/iso.segment"):
			t.Errorf("good token: %d, %d bytes, %q", resp.StatusCode, len(body), resp.Header.Get("Content-Type"))
		case name == "forged" && (resp.StatusCode != 403 || len(body) != 0):
			t.Errorf("forged token: %d, %d bytes", resp.StatusCode, len(body))
		}
	}
}

// TestMediaPlaysInBrowser: hls.js in headless Chromium plays the signed
// ladder from the node over HTTPS for at least 5 s, once over HTTP/2 and
// once forced onto HTTP/3; the node's access log shows the protocol, and
// a changed bandwidth hint makes the player fetch another rendition.
func TestMediaPlaysInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the media ladder and plays it in Chromium")
	}
	exe := chromium(t)
	site := mediaSite(t)
	node := startNode(t, t.TempDir(), "--app", site, "--access-log")
	https := node.banner.https
	host := strings.TrimPrefix(https, "https://")
	spki := leafSPKI(t, host)
	for _, proto := range []string{"HTTP/2.0", "HTTP/3.0"} {
		t.Run(proto, func(t *testing.T) {
			flags := []chromedp.ExecAllocatorOption{
				chromedp.Flag("ignore-certificate-errors-spki-list", spki),
				chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
			}
			if proto == "HTTP/3.0" {
				flags = append(flags, chromedp.Flag("enable-quic", true), chromedp.Flag("origin-to-force-quic-on", host))
			} else {
				flags = append(flags, chromedp.Flag("disable-quic", true))
			}
			viewer := "viewer" + strings.ReplaceAll(proto[5:], ".", "")
			master := mediaToken(t, node.banner.http, viewer)
			page := https + "/?master=" + url.QueryEscape(master)
			playMedia(t, exe, page, flags)
			log := node.stderr()
			want := fmt.Sprintf("proto=%s method=GET host=%s path=/media/", proto, host)
			if !strings.Contains(log, want) {
				t.Errorf("the node never served the player's media over %s (want a log line with %q)", proto, want)
			}
		})
	}
}

// playMedia opens page and waits for 5 s of playback, then asks for the
// highest rendition and waits for a fragment of it.
func playMedia(t *testing.T, exe, page string, flags []chromedp.ExecAllocatorOption) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true))
	opts = append(opts, flags...)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	state := func() string {
		s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({t: document.getElementById("video").currentTime, s: window.playerState})`))
		return s
	}
	// Real time: the media clock does not follow virtual time.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(window.playerState && window.playerState.fatal) ? (() => { throw new Error(window.playerState.fatal) })() : document.getElementById("video").currentTime >= 5`, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		t.Fatalf("no 5 s of playback: %v; state %s", err, state())
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`hls.currentLevel = hls.levels.length - 1, hls.levels.length`)); err != nil {
		t.Fatalf("bandwidth hint: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`new Set(window.playerState.levels.filter(l => l.startsWith("main:"))).size >= 2`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Errorf("the player never fetched a second rendition: %v; state %s", err, state())
	}
}
