//go:build wasip1

package edgeabi

import "unsafe"

// The host functions of the edge ABI, version 1 (docs/edge-abi.md). Sizes
// and pointers are i32; Go's wasm pointers are offsets into linear memory,
// and its garbage collector does not move objects, so a pointer stays valid
// for the duration of a call.

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

//go:wasmimport edge_v1 fetch
//go:noescape
func hostFetch(req unsafe.Pointer, n uint32) int32

//go:wasmimport edge_v1 fetch_response
//go:noescape
func hostFetchResponse(buf unsafe.Pointer, capacity uint32) int32
