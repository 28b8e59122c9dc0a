package edgetls

import "time"

// SetClock replaces the clock ca uses to issue and re-issue leaves. Call it
// before the CA is used.
func SetClock(ca *DevCA, now func() time.Time) { ca.now = now }

// Leaves is how many leaves ca holds in its cache.
func Leaves(ca *DevCA) int {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return len(ca.leaves)
}
