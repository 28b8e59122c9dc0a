package edge

import (
	"errors"
	"net/http"

	"github.com/edgecdn/edge/modules"
)

// failure is what a failed guest run means for the client and for the
// counters. The table below is the one place a guest error is classified.
type failure struct {
	kind    string // the name metrics and logs use
	status  int
	message string
	counter func(*Stats) // which counter of Stats the failure adds to
}

var failures = []struct {
	err error
	failure
}{
	{modules.ErrDeadline, failure{"deadline", http.StatusGatewayTimeout, "the app's module ran past its deadline", func(s *Stats) { s.GuestDeadlines.Add(1) }}},
	// The client left and its guest was stopped: nobody reads the answer,
	// but the log says 499, as nginx does.
	{modules.ErrCanceled, failure{"canceled", StatusClientClosedRequest, "the client closed the request", func(s *Stats) { s.GuestCanceled.Add(1) }}},
	{modules.ErrOutputTooLarge, failure{"output_too_large", http.StatusBadGateway, "the app's module wrote more than its output limit", func(s *Stats) { s.GuestTooLarge.Add(1) }}},
	{modules.ErrBadResponse, failure{"bad_response", http.StatusBadGateway, "the app's module returned an invalid response", func(s *Stats) { s.GuestBadOutput.Add(1) }}},
}

// StatusClientClosedRequest is nginx's status for a request whose client
// went away before the answer: it appears in the log, never on the wire.
const StatusClientClosedRequest = 499

// trapped is every other failure: a trap, a non-zero exit, a memory limit.
var trapped = failure{"trap", http.StatusInternalServerError, "the app's module failed", func(s *Stats) { s.GuestTraps.Add(1) }}

// classify maps a non-nil guest error onto its failure.
func classify(err error) failure {
	for _, f := range failures {
		if errors.Is(err, f.err) {
			return f.failure
		}
	}
	return trapped
}

// FailureKind names a guest error the way metrics label it: deadline,
// canceled, output_too_large, bad_response or trap.
func FailureKind(err error) string { return classify(err).kind }
