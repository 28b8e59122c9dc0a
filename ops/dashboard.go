package ops

import (
	_ "embed"
	"net/http"
)

// dashboardPage is the live dashboard: one self-contained page (no CDN,
// no fonts, no network fetch but its own node's /v1/status).
//
//go:embed dashboard/index.html
var dashboardPage []byte

// dashboard serves the page at GET /. It needs no token: it holds no
// data, and asks for the token in a form, keeps it in the page's memory
// only, and sends it as a bearer with every call.
func dashboard(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(dashboardPage)
}
