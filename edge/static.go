package edge

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/edgecdn/edge/edge/app"
)

// maxDiscardedBody is how much of a refused request's body a static route
// reads before answering; net/http reads as much after an HTTP/1.1 handler.
const maxDiscardedBody = 256 << 10

// serveStatic answers a static route from its snapshot of files.
// A plain GET or HEAD of a file held in the object cache is answered
// directly from memory with headers built at load. Anything conditional or
// ranged goes to http.ServeContent, which does the protocol work:
// If-None-Match / If-Modified-Since (304), Range (206, or 416 for an
// unsatisfiable range) and HEAD; boundRanges first caps and merges the
// ranges asked for.
func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request, rt *app.Route, p string, id string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// Read a bounded part of the body first: on HTTP/2 that is what
		// checks it against its content-length (a mismatch resets the
		// stream, RFC 9113 8.1.1) before the answer closes the stream.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDiscardedBody))
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
		h.notFound(w, r, rt)
		return
	}
	// A small file's response leaves in one write on HTTP/1.1 over TLS
	// (cork.go); nothing is held once this returns, even on a panic.
	var cc *corkConn
	if a.Size <= corkedResponse {
		cc = corkFor(r)
	}
	cc.Cork()
	defer cc.Uncork()
	h.writeFile(w, r, rt, a, p, id)
	cc.send(w)
}

// writeFile answers a GET or HEAD of a: whole from memory when it can,
// through http.ServeContent otherwise.
func (h *Handler) writeFile(w http.ResponseWriter, r *http.Request, rt *app.Route, a *app.Asset, p, id string) {
	data, inMemory, err := h.objects.Content(a)
	if err != nil {
		h.unreadable(w, a, p, id, err)
		return
	}
	hdr := w.Header()
	hdr["Content-Type"] = a.Header.ContentType
	hdr["Etag"] = a.Header.ETag
	if cc := rt.CacheControlHeader(); cc != nil {
		hdr["Cache-Control"] = cc
	}
	if inMemory && unconditional(r) {
		writeWhole(w, r, a, data)
		return
	}
	var content io.ReadSeeker
	if inMemory {
		content = bytes.NewReader(data)
	} else if content, err = a.Open(); err != nil {
		h.unreadable(w, a, p, id, err)
		return
	}
	http.ServeContent(w, boundRanges(r, a.Size), a.Name, a.ModTime, content)
}

// unconditional reports whether a request asks for the whole file with no
// precondition: the common case, answered without http.ServeContent.
func unconditional(r *http.Request) bool {
	for _, k := range [...]string{"Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since"} {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	return true
}

// writeWhole sends an in-memory file as a 200 with its precomputed headers.
func writeWhole(w http.ResponseWriter, r *http.Request, a *app.Asset, data []byte) {
	hdr := w.Header()
	hdr["Last-Modified"] = a.Header.LastModified
	hdr["Accept-Ranges"] = a.Header.AcceptRanges
	hdr["Content-Length"] = a.Header.ContentLength
	if r.ProtoMajor == 3 && sendWholeH3(w, http.StatusOK, headless(r, data)) {
		return
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}

// unreadable refuses a file the store cannot give back intact.
func (h *Handler) unreadable(w http.ResponseWriter, a *app.Asset, p, id string, err error) {
	h.log.Error("static file unreadable", "id", id, "path", p, "digest", a.Digest, "err", err)
	http.Error(w, fmt.Sprintf("this file could not be read from the node's store (request id %s)", id), http.StatusInternalServerError)
}

// notFound serves the route's 404.html when it has one.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, rt *app.Route) {
	page := rt.Files.NotFoundPage()
	if page == nil {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	data, inMemory, err := h.objects.Content(page)
	if err != nil {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	w.Header()["Content-Type"] = page.Header.ContentType
	w.WriteHeader(http.StatusNotFound)
	if r.Method == http.MethodHead {
		return
	}
	if inMemory {
		_, _ = w.Write(data)
	} else if content, err := page.Open(); err == nil {
		_, _ = io.Copy(w, content)
	}
}
