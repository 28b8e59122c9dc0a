package modules

import "errors"

// Sentinel errors a caller maps onto responses. Each is wrapped with the
// detail of what happened, so errors.Is works and the message stays useful.
var (
	// ErrInvalidModule is returned when bytes are not a valid WebAssembly
	// module for this engine, or the module lacks what its executor needs.
	ErrInvalidModule = errors.New("invalid module")

	// ErrTrap is returned when the guest traps (unreachable, out-of-bounds
	// access, a memory limit reached at instantiation) or exits non-zero.
	ErrTrap = errors.New("guest trapped")

	// ErrDeadline is returned when the guest ran past its wall-clock deadline
	// and was interrupted.
	ErrDeadline = errors.New("guest deadline exceeded")

	// ErrCanceled is returned when the request was cancelled (its client
	// left) and the guest was stopped, wherever it was.
	ErrCanceled = errors.New("guest request canceled")

	// ErrOutputTooLarge is returned when the guest wrote more than its
	// output limit.
	ErrOutputTooLarge = errors.New("guest output too large")

	// ErrBadResponse is returned when the guest's output is not a valid
	// response for its executor (for WAGI: malformed CGI headers).
	ErrBadResponse = errors.New("bad guest response")

	// ErrNoInit is returned by Preinit for a module that exports no init
	// function (wizer.initialize or _initialize) and was given none.
	ErrNoInit = errors.New("module has no init function to pre-initialise with")

	// ErrPreinit is returned when a module cannot be pre-initialised: its
	// shape is one the snapshot cannot hold (an imported memory, a
	// mutable reference global), or its init function failed.
	ErrPreinit = errors.New("pre-initialisation failed")
)
