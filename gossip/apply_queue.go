package gossip

import "sync"

// applyQueue holds the apps whose winning state is not applied yet: each
// app at most once, whatever the number of kicks, so its size is bounded
// by the number of apps; an app kicked while it is being applied runs
// again once done, never twice at once. Workers take apps in turn, so a
// slow app (a tarpit peer) holds one worker, not the others' deploys.
type applyQueue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	order   []string
	queued  map[string]bool
	running map[string]bool
	again   map[string]bool
	closed  bool
}

func newApplyQueue() *applyQueue {
	q := &applyQueue{queued: map[string]bool{}, running: map[string]bool{}, again: map[string]bool{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// add queues app unless it is queued; if it is being applied, it is
// queued again when that ends.
func (q *applyQueue) add(app string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed || q.queued[app]:
	case q.running[app]:
		q.again[app] = true
	default:
		q.queued[app] = true
		q.order = append(q.order, app)
		q.cond.Signal()
	}
}

// next waits for an app to apply; false once closed.
func (q *applyQueue) next() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.order) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return "", false
	}
	app := q.order[0]
	q.order = q.order[1:]
	delete(q.queued, app)
	q.running[app] = true
	return app, true
}

// done ends app's application, queueing it again if it was kicked meanwhile.
func (q *applyQueue) done(app string) {
	q.mu.Lock()
	delete(q.running, app)
	again := q.again[app]
	delete(q.again, app)
	q.mu.Unlock()
	if again {
		q.add(app)
	}
}

func (q *applyQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
}
