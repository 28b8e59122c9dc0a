package gossip

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

// Observe moves the clock past a reading made elsewhere.
func (c *Clock) Observe(remote uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = max(c.last, remote)
}
