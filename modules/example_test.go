package modules_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/bytecodealliance/wasmtime-go/v39"
	"github.com/edgecdn/edge/modules"
)

func ExampleEngine_RunWAGI() {
	e, err := modules.NewEngine(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	// A WAGI guest writes CGI headers, a blank line and the body to stdout.
	wasm, err := wasmtime.Wat2Wasm(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Status: 201 Created\nContent-Type: text/plain\n\nhello, WAGI\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 58))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`)
	if err != nil {
		log.Fatal(err)
	}
	m, err := e.Compile("hello.wasm", wasm)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	r := httptest.NewRequest("POST", "/hello?name=gopher", nil)
	route := &modules.WAGIRoute{Pattern: "/hello", Module: "hello.wasm"}
	resp, _, err := e.RunWAGI(context.Background(), m, modules.WAGICommand(r, route, nil), modules.Limits{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	fmt.Print(string(resp.Body))
	// Output:
	// 201 text/plain
	// hello, WAGI
}
