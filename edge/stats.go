package edge

import (
	"sync/atomic"
)

// Stats counts what the handler did since the node started, for metrics.
// Counters only grow; read them with Load.
type Stats struct {
	// Responses by status class: [0] 1xx … [4] 5xx.
	Responses [5]atomic.Int64
	// GuestRuns counts modules run; the failures below are among them.
	GuestRuns      atomic.Int64
	GuestTraps     atomic.Int64
	GuestDeadlines atomic.Int64
	// GuestCanceled counts guests stopped because their client left.
	GuestCanceled  atomic.Int64
	GuestTooLarge  atomic.Int64
	GuestBadOutput atomic.Int64
	// Overloaded counts requests refused with 503 after waiting for a slot.
	Overloaded atomic.Int64
	// BodyTooLarge counts 413s; BodyBudgetFull counts 503s while the
	// node's body memory (HandlerConfig.MaxBodyMemory) stayed full.
	BodyTooLarge   atomic.Int64
	BodyBudgetFull atomic.Int64
	// GuestFetches counts outbound requests guests made (the edge ABI's
	// fetch); GuestFetchErrors those refused or failed.
	GuestFetches, GuestFetchErrors atomic.Int64
}

// Stats returns the handler's live counters.
func (h *Handler) Stats() *Stats { return &h.stats }

func (s *Stats) countResponse(status int) {
	if class := status/100 - 1; class >= 0 && class < len(s.Responses) {
		s.Responses[class].Add(1)
	}
}

func (s *Stats) countGuest(err error) {
	s.GuestRuns.Add(1)
	if err != nil {
		classify(err).counter(s)
	}
}
