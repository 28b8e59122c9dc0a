//go:build wasip1

package main

import (
	"errors"
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
	raw := readRequest()
	method, uri, host, head, body, ok := parseRequest(raw)
	if !ok {
		logLine("js: malformed request from the host")
		respond(400, nil, nil)
		return
	}
	v, err := dispatch(goja.Undefined(), vm.ToValue(method), vm.ToValue(uri), vm.ToValue(host), vm.NewArray(head...), vm.ToValue(vm.NewArrayBuffer(body)))
	if err != nil {
		scriptError("fetch handler threw", err)
		return
	}
	if v, err = settled(v); err != nil {
		logLine("js: " + err.Error())
		respond(500, nil, nil)
		return
	}
	out, err := finish(goja.Undefined(), v)
	if err != nil {
		scriptError("invalid response", err)
		return
	}
	send(out)
}

// settled is what respondWith was given, or the value of the promise it
// was given once the jobs have run; an error if that promise is pending
// or rejected.
func settled(v goja.Value) (goja.Value, error) {
	p, ok := v.Export().(*goja.Promise)
	if !ok {
		return v, nil
	}
	switch p.State() {
	case goja.PromiseStatePending:
		return nil, errors.New("the promise passed to respondWith never settled (there are no timers or I/O to wait for)")
	case goja.PromiseStateRejected:
		return nil, errors.New("the promise passed to respondWith was rejected: " + describe(p.Result()))
	}
	return p.Result(), nil
}

// encode turns [status, "name: value\n" lines, body] into what the host
// takes.
func encode(out goja.Value) (status int, head, body []byte) {
	parts := out.ToObject(vm)
	status = int(parts.Get("0").ToInteger())
	return status, []byte(parts.Get("1").String()), bytesOf(parts.Get("2"))
}

// send passes [status, "name: value\n" lines, body] to the host.
func send(out goja.Value) {
	status, head, body := encode(out)
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
// method, URI, the Host header's value, [name, value, ...] with names in
// lower case, and body.
func parseRequest(b []byte) (method, uri, host string, head []any, body []byte, ok bool) {
	line, rest, ok := cutLine(b)
	if !ok {
		return
	}
	method, uri, ok = strings.Cut(string(line), " ")
	if !ok {
		return
	}
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
			return "", "", "", nil, nil, false
		}
		name, value = strings.ToLower(name), strings.TrimLeft(value, " \t")
		if name == "host" && host == "" {
			host = value
		}
		head = append(head, name, value)
	}
	return method, uri, host, head, rest, true
}

func cutLine(b []byte) (line, rest []byte, ok bool) {
	for i, c := range b {
		if c == '\n' {
			return b[:i], b[i+1:], true
		}
	}
	return nil, b, false
}
