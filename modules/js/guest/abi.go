//go:build wasip1

package main

import "unsafe"

// The host functions of the edge ABI, version 1 (docs/edge-abi.md). The
// guest declares them itself rather than importing the SDK, so this module
// depends on goja alone.

//go:wasmimport edge_v1 request
//go:noescape
func hostRequest(buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport edge_v1 respond
//go:noescape
func hostRespond(status int32, head unsafe.Pointer, headLen uint32, body unsafe.Pointer, bodyLen uint32) int32

//go:wasmimport edge_v1 body_write
//go:noescape
func hostBodyWrite(buf unsafe.Pointer, n uint32) int32

//go:wasmimport edge_v1 log
//go:noescape
func hostLog(buf unsafe.Pointer, n uint32)

func bytesPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// logLine writes one line to the node's log, tagged with the request id.
func logLine(s string) {
	hostLog(unsafe.Pointer(unsafe.StringData(s)), uint32(len(s)))
}

// readRequest returns the request text (docs/edge-abi.md).
func readRequest() []byte {
	buf := make([]byte, 4096)
	for {
		n := hostRequest(unsafe.Pointer(&buf[0]), uint32(len(buf)))
		if n <= 0 {
			return nil
		}
		if int(n) <= len(buf) {
			return buf[:n]
		}
		buf = make([]byte, n)
	}
}

// respond sends the whole response; it returns the host's code (0 or
// negative, docs/edge-abi.md).
func respond(status int, head, body []byte) int32 {
	return hostRespond(int32(status), bytesPtr(head), uint32(len(head)), bytesPtr(body), uint32(len(body)))
}

//go:wasmimport edge_v1 fetch
//go:noescape
func hostFetch(req unsafe.Pointer, n uint32) int32

//go:wasmimport edge_v1 fetch_response
//go:noescape
func hostFetchResponse(buf unsafe.Pointer, capacity uint32) int32

// fetchResult reads what the last fetch left: its answer, or the host's
// explanation of why there is none.
func fetchResult() []byte {
	n := hostFetchResponse(nil, 0)
	if n <= 0 {
		return nil
	}
	buf := make([]byte, n)
	hostFetchResponse(unsafe.Pointer(&buf[0]), uint32(n))
	return buf
}
