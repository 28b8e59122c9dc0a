//go:build wasip1

// Command guest is the node's JavaScript engine: goja
// (github.com/dop251/goja) built as an edge ABI reactor (docs/js.md).
//
// The node pre-initialises it once per script (docs/preinit.md): in
// _initialize, which runs the package init functions below, the engine
// reads the route's script from stdin (its file name is argv[0], the
// route's env is the environment), compiles it, runs the Workers-style
// prelude (prelude.js) and the script's top level. A script that does not
// compile, throws at top level or registers no fetch listener makes init
// exit with status 1 after writing "file:line:col: message" to stderr, and
// the node refuses the route. Otherwise the node snapshots the instance,
// and every request runs edge_handle in a fresh copy of that snapshot.
//
// Built (by ../../examples/build.sh, `make examples`) with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -buildvcs=false -ldflags='-s -w' -o engine.wasm .
package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

//go:embed prelude.js
var preludeSrc string

// The engine's state, built in init and frozen in the snapshot.
var (
	vm *goja.Runtime
	// dispatch runs the fetch listeners for one request and returns what
	// was passed to respondWith (prelude.js).
	dispatch goja.Callable
	// finish turns a Response into [status, headers, body].
	finish goja.Callable
	// inRequest routes console output to the node's log (with the request
	// id) once requests are served; during init it goes to stderr, which
	// the node shows when the script is refused.
	inRequest bool
)

func init() {
	name := "script.js"
	if len(os.Args) > 0 && os.Args[0] != "" {
		name = os.Args[0]
	}
	src, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("%s: read script: %v", name, err)
	}
	if err := load(name, string(src)); err != nil {
		fail("%s", err)
	}
	shapeHeap()
}

// heapReserve is how much free heap init leaves in the snapshot for
// requests to allocate from.
const heapReserve = 4 << 20

// shapeHeap prepares the heap the snapshot freezes for requests that each
// start from it and are thrown away: garbage collection is off (a
// request's garbage goes with its instance; a collection would cost more
// than the whole request), except near the route's memory limit (argv[1],
// in bytes); and heapReserve bytes of free, already grown heap are left
// for requests to allocate from, so a request does not grow the linear
// memory (fresh pages, each a page fault in every request).
func shapeHeap() {
	runtime.GC()
	reserve := make([][]byte, 0, heapReserve/(64<<10))
	for range cap(reserve) {
		reserve = append(reserve, make([]byte, 64<<10))
	}
	runtime.KeepAlive(reserve)
	reserve = nil
	runtime.GC()
	debug.SetGCPercent(-1)
	if len(os.Args) > 1 {
		if mem, err := strconv.ParseInt(os.Args[1], 10, 64); err == nil && mem > 0 {
			debug.SetMemoryLimit(max(mem-mem/4, 8<<20))
		}
	}
	growStack(stackReserve / (8 << 10))
}

// stackReserve is how much goroutine stack init leaves grown in the
// snapshot. The collections above shrink the stack edge_handle runs on;
// a request's calls into goja need ~160 KiB of it, and growing it (a new
// stack, the old one copied) cost every request ~30 KiB of allocation and
// a copy.
const stackReserve = 256 << 10

// growStack uses about n*8 KiB of stack, so that the runtime grows the
// goroutine's stack to hold it; with collection off it is never shrunk.
//
//go:noinline
func growStack(n int) byte {
	var frame [8 << 10]byte
	frame[n%len(frame)] = byte(n)
	if n > 0 {
		return growStack(n-1) + frame[(n*7)%len(frame)]
	}
	return frame[0]
}

// fail refuses the script: the node reports stderr with the refusal.
func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// load builds the runtime, runs the prelude and the script's top level.
func load(name, src string) error {
	vm = goja.New()
	vm.SetFieldNameMapper(goja.UncapFieldNameMapper())
	installHost(vm)
	if _, err := vm.RunScript("prelude.js", preludeSrc); err != nil {
		return fmt.Errorf("prelude.js: %v", err) // a bug in the engine, not in the script
	}
	var ok bool
	if dispatch, ok = goja.AssertFunction(vm.Get("__edgeDispatch")); !ok {
		return fmt.Errorf("prelude.js: no dispatch")
	}
	if finish, ok = goja.AssertFunction(vm.Get("__edgeFinish")); !ok {
		return fmt.Errorf("prelude.js: no finish")
	}
	warmFn, ok := goja.AssertFunction(vm.Get("__edgeWarm"))
	if !ok {
		return fmt.Errorf("prelude.js: no warm-up")
	}
	for _, name := range []string{"__edgeDispatch", "__edgeFinish", "__edgeWarm"} {
		vm.GlobalObject().Delete(name)
	}
	// Before the script's top level, so that nothing the script does to
	// the globals can change or break it.
	if err := warm(warmFn); err != nil {
		return fmt.Errorf("prelude.js: warm-up: %v", err) // a bug in the engine
	}
	prog, err := compile(name, src)
	if err != nil {
		return err
	}
	if _, err := vm.RunProgram(prog); err != nil {
		return thrown(name, err)
	}
	if n := vm.Get("__edgeListeners").ToInteger(); n == 0 {
		return fmt.Errorf(`%s: the script registers no fetch listener: call addEventListener("fetch", (event) => event.respondWith(...))`, name)
	}
	vm.GlobalObject().Delete("__edgeListeners")
	vm.SetRandSource(lazyRand)
	return nil
}

// warm runs the request path once with prelude.js's own listener
// (__edgeWarm), up to the bytes a response would be sent as, so that the
// builtins goja and the Go runtime build on first use are in the
// snapshot rather than built by every request.
func warm(warmFn goja.Callable) error {
	v, err := warmFn(goja.Undefined())
	if err != nil {
		return err
	}
	v, err = settled(v)
	if err != nil {
		return err
	}
	out, err := finish(goja.Undefined(), v)
	if err != nil {
		return err
	}
	_, _, _ = encode(out)
	return nil
}

// compile parses and compiles the script, rendering an error as
// "file:line:col: SyntaxError: message".
func compile(name, src string) (*goja.Program, error) {
	ast, err := parser.ParseFile(nil, name, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		var el parser.ErrorList
		if errors.As(err, &el) && len(el) > 0 {
			p := el[0].Position
			return nil, fmt.Errorf("%s:%d:%d: SyntaxError: %s", name, p.Line, p.Column, el[0].Message)
		}
		return nil, fmt.Errorf("%s: SyntaxError: %v", name, err)
	}
	prog, err := goja.CompileAST(ast, false)
	if err != nil {
		var ce *goja.CompilerSyntaxError
		if errors.As(err, &ce) && ce.File != nil {
			p := ce.File.Position(ce.Offset)
			return nil, fmt.Errorf("%s:%d:%d: SyntaxError: %s", name, p.Line, p.Column, ce.Message)
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return prog, nil
}

// thrown renders an exception from the script's top level as
// "file:line:col: message", from the innermost frame in the script.
func thrown(name string, err error) error {
	ex, ok := err.(*goja.Exception)
	if !ok {
		return fmt.Errorf("%s: %v", name, err)
	}
	msg := ex.Value().String()
	for _, f := range ex.Stack() {
		p := f.Position()
		if p.Filename == name {
			return fmt.Errorf("%s:%d:%d: uncaught %s", name, p.Line, p.Column, msg)
		}
	}
	return fmt.Errorf("%s: uncaught %s", name, strings.TrimSpace(ex.String()))
}

// main does not run in a reactor.
func main() {}
