//go:build wasip1

package main

import (
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// outboundFetch is prelude.js's fetch(): it hands the request to the host
// (edge_v1 fetch, docs/edge-abi.md), which checks it against the route's
// allowed_outbound_hosts and makes it through the node's HTTP cache, and
// returns [status, [name, value, ...] with names in lower case, body]. A
// refusal or a failure throws a TypeError carrying the host's
// explanation, as a browser's fetch rejects with one. The call blocks
// until the host has the answer, within the request's deadline.
func outboundFetch(vm *goja.Runtime, method, url string, head goja.Value, body []byte) goja.Value {
	if !inRequest {
		panic(vm.NewTypeError("fetch: outbound requests can be made only while handling a request, not at top level"))
	}
	req := make([]byte, 0, 64+len(url)+len(body))
	req = append(req, method...)
	req = append(req, ' ')
	req = append(req, url...)
	req = append(req, '\n')
	if o, ok := head.(*goja.Object); ok {
		n := int(o.Get("length").ToInteger())
		for i := 0; i+1 < n; i += 2 {
			req = append(req, o.Get(strconv.Itoa(i)).String()...)
			req = append(req, ": "...)
			req = append(req, o.Get(strconv.Itoa(i+1)).String()...)
			req = append(req, '\n')
		}
	}
	req = append(req, '\n')
	req = append(req, body...)
	rc := hostFetch(bytesPtr(req), uint32(len(req)))
	answer := fetchResult()
	if rc < 0 {
		msg := string(answer)
		if msg == "" {
			msg = "edge_v1 fetch: failed with code " + strconv.Itoa(int(rc))
		}
		panic(vm.NewTypeError("fetch %s: %s", url, msg))
	}
	status, head2, rest, ok := parseAnswer(answer)
	if !ok {
		panic(vm.NewTypeError("fetch %s: malformed answer from the host", url))
	}
	return vm.NewArray(status, vm.NewArray(head2...), vm.NewArrayBuffer(rest))
}

// parseAnswer reads the host's "STATUS\n", header lines, an empty line
// and the body.
func parseAnswer(b []byte) (status int, head []any, body []byte, ok bool) {
	line, rest, ok := cutLine(b)
	if !ok {
		return 0, nil, nil, false
	}
	status, err := strconv.Atoi(string(line))
	if err != nil {
		return 0, nil, nil, false
	}
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return 0, nil, nil, false
		}
		if len(line) == 0 {
			return status, head, rest, true
		}
		name, value, _ := strings.Cut(string(line), ":")
		head = append(head, strings.ToLower(name), strings.TrimLeft(value, " \t"))
	}
}
