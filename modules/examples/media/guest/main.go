// Command guest is the media example's WAGI module: the CGI glue around
// package backend. It is built for the node with
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -ldflags='-s -w' -o ../site/media.wasm .
//
// (by ../build-guest.sh, `make media-example`), and builds natively too.
package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/edgecdn/edge/modules/examples/media/backend"
)

// maxBody caps what POST /token reads: a form with a viewer id.
const maxBody = 4096

func main() {
	cfg, err := backend.ConfigFrom(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "media:", err)
		fmt.Print("Status: 500 Internal Server Error\nContent-Type: text/plain\n\nthe media route is not configured\n")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(os.Stdin, maxBody))
	query, _ := url.ParseQuery(os.Getenv("QUERY_STRING"))
	req := backend.Request{
		Method: os.Getenv("REQUEST_METHOD"),
		Path:   os.Getenv("SCRIPT_NAME") + os.Getenv("PATH_INFO"),
		Query:  query,
		Header: func(name string) string {
			return os.Getenv("HTTP_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")))
		},
		Body: string(body),
	}
	write(os.Stdout, cfg.Handle(req, time.Now()))
}

// write prints a CGI response.
func write(w io.Writer, r backend.Response) {
	if r.Log != "" {
		fmt.Fprintln(os.Stderr, "refused:", r.Log)
	}
	fmt.Fprintf(w, "Status: %d\n", r.Status)
	if r.CacheControl != "" {
		fmt.Fprintf(w, "Cache-Control: %s\n", r.CacheControl)
	}
	if r.Static != "" {
		fmt.Fprintf(w, "X-Edge-Static: %s\n\n", r.Static)
		return
	}
	fmt.Fprintf(w, "Content-Type: %s\n\n%s", r.ContentType, r.Body)
}
