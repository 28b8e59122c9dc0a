package edge

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrOverloaded is returned by Limiter.Acquire when no slot freed up within
// the queue deadline, or the queue itself is full.
var ErrOverloaded = errors.New("edge: overloaded")

// DefaultAppShare is the percentage of the guest slots one app may hold
// while more than one app competes for them.
const DefaultAppShare = 75

// Limiter bounds the guests running at once. Excess requests wait in a
// bounded queue for up to a deadline rather than failing at once: a short
// burst is absorbed, a sustained overload is refused quickly and clearly.
//
// While more than one app competes, no app holds more than its share of
// the slots, so one app whose guests are all slow cannot starve the
// others: queue order alone would not do, since slots held by slow guests
// free up only when they finish. A node serving a single app uses every
// slot.
type Limiter struct {
	mu    sync.Mutex
	size  int            // slots
	share int            // the most slots one app holds while apps compete
	held  int            // slots taken
	byApp map[string]int // slots taken, by app
	queue list.List      // of *waiter, oldest first

	waiting  atomic.Int64
	maxQueue int64
	wait     time.Duration
}

// waiter is a queued Acquire: granted, under mu, once it holds a slot.
type waiter struct {
	app     string
	capped  bool
	granted bool
	ready   chan struct{}
}

// NewLimiter allows inFlight concurrent runs, up to maxQueue waiting ones,
// each waiting at most wait, and DefaultAppShare of the slots to one app
// while apps compete.
func NewLimiter(inFlight, maxQueue int, wait time.Duration) *Limiter {
	return NewAppLimiter(inFlight, maxQueue, wait, DefaultAppShare)
}

// NewAppLimiter is NewLimiter with the share of the slots (a percentage)
// one app may hold while apps compete. Each app keeps at least one slot.
func NewAppLimiter(inFlight, maxQueue int, wait time.Duration, sharePercent int) *Limiter {
	share := min(max(inFlight*sharePercent/100, 1), inFlight)
	return &Limiter{size: inFlight, share: share, byApp: map[string]int{}, maxQueue: int64(maxQueue), wait: wait}
}

// Acquire takes a slot for a request of no particular app, waiting if
// needed. The caller must call release.
func (l *Limiter) Acquire(ctx context.Context) (release func(), err error) {
	return l.AcquireApp(ctx, "", 1)
}

// AcquireApp takes a slot for a request of app, waiting if needed; apps is
// how many apps compete for the slots (those with dynamic routes). With
// more than one, app may hold at most its share. The caller must call
// release.
func (l *Limiter) AcquireApp(ctx context.Context, app string, apps int) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx) // the client is gone: take no slot
	}
	capped := apps > 1
	l.mu.Lock()
	if l.free(app, capped) {
		l.take(app)
		l.mu.Unlock()
		return l.releaser(app), nil
	}
	if l.waiting.Load() >= l.maxQueue {
		l.mu.Unlock()
		return nil, ErrOverloaded
	}
	w := &waiter{app: app, capped: capped, ready: make(chan struct{})}
	e := l.queue.PushBack(w)
	l.waiting.Add(1)
	l.mu.Unlock()
	return l.await(ctx, w, e)
}

// await waits for w's slot, the queue deadline or the end of ctx.
func (l *Limiter) await(ctx context.Context, w *waiter, e *list.Element) (func(), error) {
	t := time.NewTimer(l.wait)
	defer t.Stop()
	var err error
	select {
	case <-w.ready:
		return l.releaser(w.app), nil
	case <-t.C:
		err = ErrOverloaded
	case <-ctx.Done():
		err = context.Cause(ctx)
	}
	l.mu.Lock()
	granted := w.granted
	if !granted {
		l.queue.Remove(e)
		l.waiting.Add(-1)
	}
	l.mu.Unlock()
	if granted {
		l.releaser(w.app)() // given up just as a slot came: pass it on
	}
	return nil, err
}

// free reports whether app may take a slot now. Called with mu held.
func (l *Limiter) free(app string, capped bool) bool {
	return l.held < l.size && (!capped || l.byApp[app] < l.share)
}

// take records a slot held by app. Called with mu held.
func (l *Limiter) take(app string) {
	l.held++
	l.byApp[app]++
}

// releaser frees the slot once, however often it is called: a second call
// must never free a slot another request holds.
func (l *Limiter) releaser(app string) func() {
	var once sync.Once
	return func() { once.Do(func() { l.release(app) }) }
}

// release frees one of app's slots and hands free slots to the oldest
// waiters that may take them.
func (l *Limiter) release(app string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held--
	if l.byApp[app]--; l.byApp[app] == 0 {
		delete(l.byApp, app)
	}
	for e := l.queue.Front(); e != nil && l.held < l.size; {
		next := e.Next()
		if w := e.Value.(*waiter); l.free(w.app, w.capped) {
			l.take(w.app)
			w.granted = true
			l.queue.Remove(e)
			l.waiting.Add(-1)
			close(w.ready)
		}
		e = next
	}
}

// InFlight reports the slots taken, for metrics and tests.
func (l *Limiter) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held
}

// InFlightApp reports the slots app holds.
func (l *Limiter) InFlightApp(app string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byApp[app]
}

// Waiting is the number of requests in the queue.
func (l *Limiter) Waiting() int { return int(l.waiting.Load()) }
