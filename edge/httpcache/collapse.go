package httpcache

import (
	"context"
	"time"
)

// A flight is one origin fetch for a key that concurrent misses share.
// The leader fetches; followers wait (bounded) and then look the key up
// again: if the leader stored a matching variant they are served from it,
// otherwise (not storable, another variant, an error) they fetch
// themselves, as RFC 9111 requires for what cannot be shared.
type flight struct {
	done chan struct{}
}

// Join returns leader=true and a finish function for the first caller for
// key; later callers get leader=false and should call Wait.
func (c *Cache) Join(key string) (leader bool, wait func(context.Context) bool, finish func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.flights[key]; f != nil {
		c.stats.Collapsed.Add(1)
		return false, func(ctx context.Context) bool { return c.wait(ctx, f) }, func() {}
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	return true, nil, func() {
		c.mu.Lock()
		if c.flights[key] == f {
			delete(c.flights, key)
		}
		c.mu.Unlock()
		close(f.done)
	}
}

// wait blocks until the flight lands, the request ends or CollapseWait
// passes; it reports whether the flight landed.
func (c *Cache) wait(ctx context.Context, f *flight) bool {
	t := time.NewTimer(c.cfg.CollapseWait)
	defer t.Stop()
	select {
	case <-f.done:
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	return false
}
