package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/edgecdn/edge/modules/examples/media/backend"
)

// mediaHandler is the native Go baseline of the media rows: the media
// example's own request logic (package backend, the code the edge guest
// runs in wasm) called directly in net/http: token checks, the signed
// master playlist, and verified segments sent with http.ServeFile (Range
// included) from dir, the app directory holding hls/.
func mediaHandler(dir string) (http.Handler, error) {
	cfg, err := backend.ConfigFrom(os.Getenv)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := ""
		if r.Method == http.MethodPost {
			r.ParseForm() // POST /token's form, in r.PostForm
			body = r.PostForm.Encode()
		}
		resp := cfg.Handle(backend.Request{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Get, Body: body,
		}, time.Now())
		if resp.CacheControl != "" {
			w.Header().Set("Cache-Control", resp.CacheControl)
		}
		if resp.Static != "" {
			http.ServeFile(w, r, filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(resp.Static, "/"))))
			return
		}
		if resp.ContentType != "" {
			w.Header().Set("Content-Type", resp.ContentType)
		}
		w.WriteHeader(resp.Status)
		_, _ = w.Write([]byte(resp.Body))
	}), nil
}

// serveMedia serves mediaHandler over HTTPS: HTTP/1.1 and HTTP/2 by
// net/http, HTTP/3 by quic-go on the same port. The route's env
// (MEDIA_KEY, API_KEY, RENDITIONS) comes from the environment.
func serveMedia(addr, dir, cert, key string) error {
	h, err := mediaHandler(dir)
	if err != nil {
		return err
	}
	h3 := &http3.Server{Addr: addr, Handler: h}
	errc := make(chan error, 2)
	go func() { errc <- h3.ListenAndServeTLS(cert, key) }()
	go func() { errc <- http.ListenAndServeTLS(addr, cert, key, h) }()
	return <-errc
}
