package modules

import "fmt"

// InitError is returned (wrapped, with ErrPreinit) when a module's init
// function fails: trapped, exited non-zero or ran past its deadline. Log
// is what init wrote to stdout and stderr, so a caller can show the
// guest's own explanation (the JavaScript engine writes
// "file:line:col: message" there for a script it refuses).
type InitError struct {
	Init string // the export that was called
	Err  error
	Log  []byte
}

func (e *InitError) Error() string { return fmt.Sprintf("%s: %v (log %q)", e.Init, e.Err, e.Log) }

func (e *InitError) Unwrap() error { return e.Err }
