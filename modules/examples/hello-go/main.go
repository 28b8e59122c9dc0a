// Command hello-go is a minimal WAGI guest written in Go.
//
// WAGI is CGI over WASI: the host passes the request as environment
// variables (QUERY_STRING, REQUEST_METHOD, ...) and the body on stdin, and
// the guest writes CGI headers, a blank line and the body to stdout. It is
// built for the edge node with
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -ldflags='-s -w' -o ../demo/hello-go.wasm .
//
// but uses only portable standard library calls, so it also builds, vets
// and runs natively (handy for a quick check: QUERY_STRING=name=x go run .).
package main

import (
	"fmt"
	"net/url"
	"os"
)

// maxName caps the decoded name so a huge query string cannot produce a
// huge answer; it matches the C guest.
const maxName = 256

func main() {
	// ParseQuery skips pairs with a malformed escape and returns the rest;
	// the C guest does the same, so both answer alike.
	q, _ := url.ParseQuery(os.Getenv("QUERY_STRING"))
	name := q.Get("name")
	if len(name) > maxName {
		name = name[:maxName]
	}
	if name == "" {
		name = "world"
	}
	greeting := os.Getenv("GREETING")
	if greeting == "" {
		greeting = "Hello"
	}
	fmt.Printf("Content-Type: text/plain; charset=utf-8\n\n%s, %s! (from Go)\n", greeting, name)
}
