// Command benchpeer is the Go standard-library baseline of `make bench`:
// the static files over HTTPS (HTTP/1.1 and HTTP/2 by net/http, HTTP/3 by
// quic-go's http3.Server on the same port, http.FileServer reading from
// disk), or, with -hello, a bare net/http hello server over plain HTTP,
// or, with -media, the media example's logic natively (media.go).
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"

	"github.com/quic-go/quic-go/http3"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (TCP, and UDP for HTTP/3)")
	dir := flag.String("dir", "", "directory of static files to serve over HTTPS")
	cert := flag.String("cert", "", "certificate PEM file")
	key := flag.String("key", "", "key PEM file")
	hello := flag.Bool("hello", false, "serve the hello greeting over plain HTTP instead")
	media := flag.Bool("media", false, "serve the media example's logic natively over HTTPS, -dir being its app directory (media.go)")
	flag.Parse()
	if *media {
		log.Fatal(serveMedia(*addr, *dir, *cert, *key))
	}
	if *hello {
		log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "Hello, %s! (from C)\n", r.URL.Query().Get("name"))
		})))
	}
	files := http.FileServer(http.Dir(*dir))
	h3 := &http3.Server{Addr: *addr, Handler: files}
	go func() { log.Fatal(h3.ListenAndServeTLS(*cert, *key)) }()
	log.Fatal(http.ListenAndServeTLS(*addr, *cert, *key, files))
}
