package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/edgecdn/edge/ops"
)

// TestDashboardInBrowser opens the admin dashboard of a mesh node in
// headless Chromium: it logs in with the token, sees the node and its
// app, a non-zero request rate while traffic flows, and the second node
// of a 2-node mesh appear. The screenshot stays in the test's temp dir.
func TestDashboardInBrowser(t *testing.T) {
	exe := chromium(t)
	kit := newMeshKit(t)
	a := kit.start(t, "dash-a", "127.0.0.31", "", "")
	tok, err := os.ReadFile(filepath.Join(a.data, ops.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t, exe)
	admin := "http://" + a.banner.admin + "/"
	if err := chromedp.Do(ctx,
		chromedp.Navigate(admin),
		chromedp.SetValue(chromedp.CSS("#token"), "wrong-token-wrong-token"),
		chromedp.Click(chromedp.CSS("#login button[type=submit]")),
	); err != nil {
		t.Fatalf("browser: %v", err)
	}
	waitJS(t, ctx, "a wrong token is refused", `document.getElementById("login-error").textContent.includes("refused")`)
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#token"), strings.TrimSpace(string(tok))),
		chromedp.Click(chromedp.CSS("#login button[type=submit]")),
	); err != nil {
		t.Fatalf("browser: %v", err)
	}
	waitJS(t, ctx, "the node's name", `document.getElementById("node-name").textContent === "dash-a"`)
	waitJS(t, ctx, "the node in the mesh table", `!!document.querySelector('#members tr[data-node="dash-a"]')`)

	stop := make(chan struct{})
	defer close(stop)
	go traffic(a.banner.http+"/", "base.test", stop)
	waitJS(t, ctx, "a non-zero request rate for the app", `(() => {
		const r = document.querySelector('#traffic tr[data-app="base"] .rate');
		return !!r && parseFloat(r.textContent) > 0; })()`)

	b := kit.start(t, "dash-b", "127.0.0.32", a.gossip, "")
	defer b.stop(t)
	waitJS(t, ctx, "the second node in the mesh table", `!!document.querySelector('#members tr[data-node="dash-b"]')`)

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard.png")
	if dir := os.Getenv("EDGE_SCREENSHOTS"); dir != "" {
		path = filepath.Join(dir, "dashboard.png")
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("dashboard screenshot: %s", path)
}

// browser starts headless Chromium for the test.
func browser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitJS polls expr in the page until it is true.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(45*time.Second))); err != nil {
		t.Fatalf("the dashboard never showed %s: %v", what, err)
	}
}

// traffic sends requests for host until stop closes, a few a second.
func traffic(url, host string, stop <-chan struct{}) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		req, _ := http.NewRequest("GET", url, nil)
		req.Host = host
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
}
