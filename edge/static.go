package edge

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// serveStatic answers a static route from its in-memory snapshot.
// http.ServeContent does the protocol work: If-None-Match / If-Modified-Since
// (304), Range (206, or 416 for an unsatisfiable range) and HEAD.
func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request, rt *Route, p string, id string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed on a static route", http.StatusMethodNotAllowed)
		return
	}
	a, redirect, err := rt.Files.lookup(rt.rel(p))
	if rt.wild && rt.prefix != "" && p == rt.prefix && err == nil && rt.Files.single == nil {
		redirect = true // "/docs" for "/docs/...": relative links need "/docs/"
	}
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
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("ETag", a.etag)
	if rt.CacheControl != "" {
		hdr.Set("Cache-Control", rt.CacheControl)
	}
	content, err := a.open()
	if err != nil {
		h.log.Error("static file unreadable", "id", id, "path", p, "digest", a.digest, "err", err)
		http.Error(w, fmt.Sprintf("this file could not be read from the node's store (request id %s)", id), http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, a.name, a.modTime, content)
}

// notFound serves the route's 404.html when it has one.
func notFound(w http.ResponseWriter, r *http.Request, rt *Route) {
	page := rt.Files.notFoundPage()
	if page == nil {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", page.contentType)
	w.WriteHeader(http.StatusNotFound)
	if r.Method == http.MethodHead {
		return
	}
	if content, err := page.open(); err == nil {
		_, _ = io.Copy(w, content)
	}
}
