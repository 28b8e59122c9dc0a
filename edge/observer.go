package edge

import (
	"time"

	"github.com/edgecdn/edge/edge/app"
)

// Observer is told what the handler did, for metrics (ops implements it).
// Its methods run on the request's goroutine after the response is
// written, with values (no allocation): they must be cheap and must not block. Route and App are the
// configured ones, never built from the raw request path, so labels drawn
// from them stay bounded.
type Observer interface {
	// Request is called once per request, when it has been answered.
	Request(RequestDone)
	// Guest is called once per guest run, failed or not.
	Guest(GuestDone)
	// Queue is called once a dynamic request got a guest slot (err nil)
	// or did not (ErrOverloaded: a 503; else the client left), with the
	// time it waited.
	Queue(wait time.Duration, err error)
}

// RequestDone describes one answered request.
type RequestDone struct {
	App      *app.App   // nil: no app serves the host
	Route    *app.Route // nil: no route of App matched
	Proto    int        // the HTTP major version: 1, 2 or 3
	Status   int
	Bytes    int64 // body bytes written
	Duration time.Duration
}

// GuestDone describes one guest run.
type GuestDone struct {
	Route    *app.Route
	App      string
	Duration time.Duration // the run in its fresh store, instantiation included
	Err      error         // nil, or wrapping one of the modules sentinels
	// Instantiate is the part of Duration before the guest's code ran
	// (modules.Output.Instantiate).
	Instantiate time.Duration
}

// nopObserver is the Observer of a handler built without one.
type nopObserver struct{}

func (nopObserver) Request(RequestDone)        {}
func (nopObserver) Guest(GuestDone)            {}
func (nopObserver) Queue(time.Duration, error) {}

var _ Observer = nopObserver{}
