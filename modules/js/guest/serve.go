//go:build wasip1

package main

import (
	"fmt"
	"strings"

	"github.com/dop251/goja"
)

//go:wasmexport edge_handle
func edgeHandle() int32 {
	serve()
	return 0
}

// serve answers one request: parse it, run the fetch listeners, settle
// the promise given to respondWith (jobs run when the call returns; there
// is no event loop, so a promise still pending then never settles), send
// the Response.
func serve() {
	inRequest = true
	reseed()
	raw := readRequest()
	method, uri, head, body, ok := parseRequest(raw)
	if !ok {
		logLine("js: malformed request from the host")
		respond(400, nil, nil)
		return
	}
	v, err := dispatch(goja.Undefined(), vm.ToValue(method), vm.ToValue(uri), vm.ToValue(head), vm.ToValue(vm.NewArrayBuffer(body)))
	if err != nil {
		scriptError("fetch handler threw", err)
		return
	}
	if p, ok := v.Export().(*goja.Promise); ok {
		switch p.State() {
		case goja.PromiseStatePending:
			logLine("js: the promise passed to respondWith never settled (there are no timers or I/O to wait for)")
			respond(500, nil, nil)
			return
		case goja.PromiseStateRejected:
			logLine("js: the promise passed to respondWith was rejected: " + describe(p.Result()))
			respond(500, nil, nil)
			return
		}
		v = p.Result()
	}
	out, err := finish(goja.Undefined(), v)
	if err != nil {
		scriptError("invalid response", err)
		return
	}
	send(out)
}

// send passes [status, [name, value, ...], body] to the host.
func send(out goja.Value) {
	parts := out.ToObject(vm)
	status := int(parts.Get("0").ToInteger())
	var head []byte
	hv := parts.Get("1").ToObject(vm)
	n := int(hv.Get("length").ToInteger())
	for i := 0; i+1 < n; i += 2 {
		name, value := hv.Get(fmt.Sprint(i)).String(), hv.Get(fmt.Sprint(i+1)).String()
		switch strings.ToLower(name) {
		case "content-length", "transfer-encoding", "connection":
			continue // the server's own; the host would refuse the response
		}
		head = append(head, name...)
		head = append(head, ": "...)
		head = append(head, value...)
		head = append(head, '\n')
	}
	body := bytesOf(parts.Get("2"))
	switch rc := respond(status, head, body); rc {
	case 0:
	case -4:
		logLine(fmt.Sprintf("js: response of %d bytes is over the route's max_output", len(body)))
	default:
		logLine(fmt.Sprintf("js: the host refused the response (status %d): %d", status, rc))
		respond(500, nil, nil)
	}
}

// scriptError logs an exception with the script's position and answers 500.
func scriptError(what string, err error) {
	msg := err.Error()
	if ex, ok := err.(*goja.Exception); ok {
		msg = strings.TrimSpace(ex.String())
	}
	logLine("js: " + what + ": " + msg)
	respond(500, nil, nil)
}

// describe renders a rejection reason, with its stack when it is an Error.
func describe(v goja.Value) string {
	if o, ok := v.(*goja.Object); ok {
		if s := o.Get("stack"); s != nil && !goja.IsUndefined(s) {
			return s.String()
		}
	}
	return v.String()
}

// parseRequest splits the host's request text (docs/edge-abi.md) into
// method, URI, [name, value, ...] and body.
func parseRequest(b []byte) (method, uri string, head []any, body []byte, ok bool) {
	line, rest, ok := cutLine(b)
	if !ok {
		return
	}
	method, uri, ok = strings.Cut(string(line), " ")
	if !ok {
		return
	}
	head = []any{}
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return
		}
		if len(line) == 0 {
			break
		}
		name, value, found := strings.Cut(string(line), ":")
		if !found {
			return "", "", nil, nil, false
		}
		head = append(head, name, strings.TrimLeft(value, " \t"))
	}
	return method, uri, head, rest, true
}

func cutLine(b []byte) (line, rest []byte, ok bool) {
	for i, c := range b {
		if c == '\n' {
			return b[:i], b[i+1:], true
		}
	}
	return nil, b, false
}
