package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds a Chromium for browser tests; .ci/run installs Debian's.
// Without one the test skips, unless EDGE_REQUIRE_BROWSER=1 (set by
// .ci/run when it installed Chromium), where a skip would hide the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "no Chromium installed (apt-get install chromium); .ci/run installs it"
	if os.Getenv("EDGE_REQUIRE_BROWSER") == "1" {
		t.Fatal(why + ", and EDGE_REQUIRE_BROWSER=1 requires it")
	}
	t.Skip(why)
	return ""
}

// TestDemoPageInBrowser opens the demo's landing page in headless
// Chromium, as a newcomer would, types a name into its form and submits
// it: the page's script calls the C guest and shows its answer.
func TestDemoPageInBrowser(t *testing.T) {
	exe := chromium(t)
	b := serveInProcess(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	err := chromedp.Do(ctx,
		chromedp.Navigate(b.http+"/"),
		chromedp.SetValue(chromedp.CSS("#name"), "browser"),
		chromedp.Click(chromedp.CSS("#ask button[type=submit]")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("answer").textContent.includes("Hello, browser!")`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the answer never appeared: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	answer, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#answer")))
	if err != nil {
		t.Fatal(err)
	}
	if title == "" || !strings.Contains(answer, "Hello, browser! (from C)") {
		t.Errorf("title %q, answer %q", title, answer)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("EDGE_SCREENSHOTS"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "demo-page.png"), shot, 0o644)
	}
}
