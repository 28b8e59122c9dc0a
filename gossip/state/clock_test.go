package state_test

import (
	"testing"
	"time"

	"github.com/edgecdn/edge/gossip/state"
)

func TestClock(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	c := state.NewClock(func() time.Time { return now })
	a := c.Now()
	if b := c.Now(); b <= a {
		t.Fatalf("readings do not grow: %d then %d", a, b)
	}
	// A reading a little ahead is adopted: the next local one is above it.
	ahead := uint64(now.Add(10*time.Second).UnixMilli()) << 16
	c.Observe(ahead)
	if got := c.Now(); got <= ahead {
		t.Errorf("after observing %d, read %d", ahead, got)
	}
	// A reading far in the future is not: the clock stays near real time.
	far := uint64(now.Add(24*time.Hour).UnixMilli()) << 16
	c.Observe(far)
	if got := c.Now(); got >= far {
		t.Errorf("a reading a day ahead dragged the clock to %d", got)
	}
}
