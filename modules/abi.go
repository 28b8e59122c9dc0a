package modules

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
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
// malformed or connection-level header, fails with ErrBadResponse.
func (e *Engine) RunEdge(m *Module, request []byte, lim Limits) (*Response, *Output, error) {
	if m.engine != e {
		return nil, &Output{}, fmt.Errorf("modules: run %s: %w: compiled by another engine", m.name, ErrInvalidModule)
	}
	lim = lim.WithDefaults()
	lim.Memory = min(lim.Memory, e.cfg.MaxMemory)
	r := e.c.run(m.c, true, &Command{Stdin: request}, lim, deadlineTicks(lim.Timeout))
	out := &Output{Stdout: r.stdout, Stderr: r.stderr, Duration: r.duration}
	switch {
	case r.stdoutOver || r.headOver:
		return nil, out, fmt.Errorf("modules: run %s: %w: more than %d bytes", m.name, ErrOutputTooLarge, lim.MaxOutput)
	case r.err() != nil:
		return nil, out, fmt.Errorf("modules: run %s: %w", m.name, r.err())
	case !r.responded:
		return nil, out, fmt.Errorf("modules: run %s: %w: the guest returned without calling respond", m.name, ErrBadResponse)
	}
	resp := &Response{Status: r.status, Header: http.Header{}, Body: r.stdout}
	for n, line := range strings.Split(strings.TrimSuffix(string(r.head), "\n"), "\n") {
		if line == "" {
			continue
		}
		name, value, err := parseHeaderLine(strings.TrimSuffix(line, "\r"))
		if err == nil && hopHeaders[name] {
			err = fmt.Errorf("%s is set by the server", name)
		}
		if err != nil || name == "Status" {
			return nil, out, fmt.Errorf("modules: run %s: %w: header line %d: %v", m.name, ErrBadResponse, n+1, err)
		}
		resp.Header.Add(name, value)
	}
	return resp, out, nil
}
