package modules

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"unsafe"
)

// EdgeRequest encodes a request for an edge ABI guest (docs/edge-abi.md):
// "METHOD URI\n", one "Name: value\n" per header value (Host first), an
// empty line, then the body.
func EdgeRequest(r *http.Request, body []byte) []byte {
	var b bytes.Buffer
	b.Grow(256 + len(body))
	b.WriteString(r.Method)
	b.WriteByte(' ')
	b.WriteString(r.URL.RequestURI())
	b.WriteString("\nHost: ")
	b.WriteString(r.Host)
	b.WriteByte('\n')
	for name, values := range r.Header {
		for _, v := range values {
			b.WriteString(name)
			b.WriteString(": ")
			b.WriteString(strings.ReplaceAll(v, "\n", " "))
			b.WriteByte('\n')
		}
	}
	b.WriteByte('\n')
	b.Write(body)
	return b.Bytes()
}

// RunEdge runs one request through an edge ABI guest in a fresh store:
// _initialize (if exported), then edge_handle. The guest's response is
// checked like a CGI one: a guest that never responded, or sent a
// malformed or connection-level header, fails with ErrBadResponse; the
// node's own headers (X-Request-Id, Alt-Svc, Date, Server) are dropped.
func (e *Engine) RunEdge(ctx context.Context, m *Module, request []byte, lim Limits) (*Response, *Output, error) {
	r, out, err := e.execute(ctx, m, true, &Command{Stdin: request}, lim)
	if err != nil {
		return nil, out, err
	}
	if !r.responded {
		return nil, out, fmt.Errorf("modules: run %s: %w: the guest returned without calling respond", m.name, ErrBadResponse)
	}
	// r.head is this run's own copy, never written again: the header
	// values may point into it without a second copy.
	head := unsafe.String(unsafe.SliceData(r.head), len(r.head))
	hb := newHeaderBuilder(head)
	resp := &Response{Status: r.status, Header: hb.h, Body: r.stdout}
	err = eachHeader(head, func(name, value string) error {
		if name == "Status" || hopHeader(name) {
			return fmt.Errorf("%s is set by the server", name)
		}
		if !serverHeader(name) {
			hb.add(name, value)
		}
		return nil
	})
	if err != nil {
		return nil, out, fmt.Errorf("modules: run %s: %w", m.name, err)
	}
	return resp, out, nil
}
