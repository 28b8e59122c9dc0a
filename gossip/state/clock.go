package state

import (
	"sync"
	"time"
)

// Clock is a hybrid logical clock: physical milliseconds in the high 48
// bits, a logical counter in the low 16. Its readings only grow, and once
// it has observed a remote reading, every later reading is above it, so
// a change made after seeing another is ordered after it even when the
// machines' clocks disagree.
type Clock struct {
	mu   sync.Mutex
	last uint64
	now  func() time.Time
}

// NewClock returns a clock reading now (nil: time.Now).
func NewClock(now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now}
}

// Now returns a reading above every earlier one and every observed one.
func (c *Clock) Now() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := uint64(c.now().UnixMilli()) << 16
	if pt > c.last {
		c.last = pt
	} else {
		c.last++
	}
	return c.last
}

// MaxDrift bounds how far ahead of this machine's clock a remote reading
// may be and still be adopted. A reading further ahead (a badly set clock,
// or a forged stamp) still orders its own state, but does not drag this
// clock, and through it every later change of this node, into the future.
const MaxDrift = time.Minute

// Observe moves the clock past a reading made elsewhere, unless that
// reading is more than MaxDrift ahead of this machine's time.
func (c *Clock) Observe(remote uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	limit := uint64(c.now().Add(MaxDrift).UnixMilli()) << 16
	if remote > limit {
		return
	}
	c.last = max(c.last, remote)
}
