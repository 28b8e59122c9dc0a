package edge

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrOverloaded is returned by Limiter.Acquire when no slot freed up within
// the queue deadline, or the queue itself is full.
var ErrOverloaded = errors.New("edge: overloaded")

// Limiter bounds the guests running at once. Excess requests wait in a
// bounded queue for up to a deadline rather than failing at once: a short
// burst is absorbed, a sustained overload is refused quickly and clearly.
type Limiter struct {
	slots    chan struct{}
	waiting  atomic.Int64
	maxQueue int64
	wait     time.Duration
}

// NewLimiter allows inFlight concurrent runs, up to maxQueue waiting ones,
// each waiting at most wait.
func NewLimiter(inFlight, maxQueue int, wait time.Duration) *Limiter {
	return &Limiter{slots: make(chan struct{}, inFlight), maxQueue: int64(maxQueue), wait: wait}
}

// Acquire takes a slot, waiting if needed. The caller must call release.
func (l *Limiter) Acquire(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx) // the client is gone: take no slot
	}
	select {
	case l.slots <- struct{}{}:
		return l.releaser(), nil
	default:
	}
	if l.waiting.Add(1) > l.maxQueue {
		l.waiting.Add(-1)
		return nil, ErrOverloaded
	}
	defer l.waiting.Add(-1)
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return l.releaser(), nil
	case <-t.C:
		return nil, ErrOverloaded
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// releaser frees the slot once, however often it is called: a second call
// must never free a slot another request holds.
func (l *Limiter) releaser() func() {
	var once sync.Once
	return func() { once.Do(func() { <-l.slots }) }
}

// InFlight and Waiting report the current load, for metrics and tests.
func (l *Limiter) InFlight() int { return len(l.slots) }

// Waiting is the number of requests in the queue.
func (l *Limiter) Waiting() int { return int(l.waiting.Load()) }
