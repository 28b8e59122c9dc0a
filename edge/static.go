package edge

import (
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/edgecdn/edge/edge/app"
)

// serveStatic answers a static route from its snapshot of files.
// http.ServeContent does the protocol work: If-None-Match / If-Modified-Since
// (304), Range (206, or 416 for an unsatisfiable range) and HEAD;
// boundRanges first caps and merges the ranges asked for.
func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request, rt *app.Route, p string, id string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed on a static route", http.StatusMethodNotAllowed)
		return
	}
	a, redirect, err := rt.LookupStatic(p)
	switch {
	case redirect:
		target := (&url.URL{Path: p + "/"}).EscapedPath()
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	case err != nil:
		notFound(w, r, rt)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.ContentType)
	hdr.Set("ETag", a.ETag)
	if rt.CacheControl != "" {
		hdr.Set("Cache-Control", rt.CacheControl)
	}
	content, err := a.Open()
	if err != nil {
		h.log.Error("static file unreadable", "id", id, "path", p, "digest", a.Digest, "err", err)
		http.Error(w, fmt.Sprintf("this file could not be read from the node's store (request id %s)", id), http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, boundRanges(r, a.Size), a.Name, a.ModTime, content)
}

// notFound serves the route's 404.html when it has one.
func notFound(w http.ResponseWriter, r *http.Request, rt *app.Route) {
	page := rt.Files.NotFoundPage()
	if page == nil {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", page.ContentType)
	w.WriteHeader(http.StatusNotFound)
	if r.Method == http.MethodHead {
		return
	}
	if content, err := page.Open(); err == nil {
		_, _ = io.Copy(w, content)
	}
}
