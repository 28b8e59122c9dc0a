package edge

import (
	"io"
	"net/http"
)

// serveStatic answers a static route from its in-memory snapshot.
// http.ServeContent does the protocol work: If-None-Match / If-Modified-Since
// (304), Range (206, or 416 for an unsatisfiable range) and HEAD.
func serveStatic(w http.ResponseWriter, r *http.Request, rt *Route, p string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed on a static route", http.StatusMethodNotAllowed)
		return
	}
	a, redirect, err := rt.Files.lookup(rt.rel(p))
	switch {
	case redirect:
		target := p + "/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	case err != nil:
		notFound(w, r, rt)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	if rt.CacheControl != "" {
		h.Set("Cache-Control", rt.CacheControl)
	}
	content, err := a.open()
	if err != nil {
		http.Error(w, "this file is missing from the node's store", http.StatusInternalServerError)
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
