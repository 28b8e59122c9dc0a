//go:build wasip1

// Command edgesdk exercises the Go edge ABI SDK (modules/sdk/go/edgeabi)
// for sdk_test.go, which builds it: one behaviour per request path.
package main

import (
	"errors"
	"strconv"

	"github.com/edgecdn/edge/modules/sdk/go/edgeabi"
)

func init() { edgeabi.Handle(handle) }

func main() {}

func handle(r *edgeabi.Request) edgeabi.Response {
	switch r.Path() {
	case "/echo":
		return edgeabi.Text(200, r.Method+" "+r.URI+"\nhost="+r.Host()+
			"\nua="+r.Header.Get("user-agent")+"\nx="+strconv.Quote(r.Header.Values("X-Multi")[0])+","+
			strconv.Quote(r.Header.Values("X-Multi")[1])+"\nq="+r.Query("q")+"\nbody="+string(r.Body))
	case "/stream":
		h := edgeabi.Header{}
		h.Set("content-type", "text/plain")
		h.Add("x-a", "1")
		h.Add("X-A", "2")
		must(edgeabi.Respond(201, h, []byte("a")))
		must(edgeabi.Write([]byte("b")))
		must(edgeabi.WriteString("c"))
		if err := edgeabi.Respond(200, nil, nil); !errors.Is(err, edgeabi.ErrState) {
			panic("second Respond: " + errString(err))
		}
		return edgeabi.Text(500, "ignored")
	case "/early-write":
		err := edgeabi.Write([]byte("x"))
		return edgeabi.Text(200, errString(err))
	case "/bad-status":
		return edgeabi.Text(200, errString(edgeabi.Respond(99, nil, nil)))
	case "/forbidden":
		return edgeabi.Response{Header: edgeabi.Header{"Content-Length": {"1"}}, Body: []byte("x")}
	case "/injection":
		return edgeabi.Response{Header: edgeabi.Header{"X-A": {"1\nX-B: 2"}}}
	case "/default":
		return edgeabi.Response{Body: []byte("ok")}
	case "/panic":
		panic("boom")
	case "/log":
		edgeabi.Log("hello log")
		return edgeabi.Text(204, "")
	}
	return edgeabi.Text(404, "not found\n")
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
