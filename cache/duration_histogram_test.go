package cache

import (
	"testing"
	"time"
)

// TestDurationHistogram: each duration lands in the first bucket at or
// above it, counts are cumulative, the overflow counts only in the total.
func TestDurationHistogram(t *testing.T) {
	var h DurationHistogram
	for _, d := range []time.Duration{50 * time.Microsecond, 100 * time.Microsecond, 3 * time.Millisecond, time.Minute} {
		h.Observe(d)
	}
	count, sum, cum := h.Snapshot()
	if count != 4 || sum != time.Minute+3*time.Millisecond+150*time.Microsecond {
		t.Errorf("count %d sum %v", count, sum)
	}
	want := map[time.Duration]uint64{100 * time.Microsecond: 2, 2500 * time.Microsecond: 2, 5 * time.Millisecond: 3, 30 * time.Second: 3}
	for i, b := range DurationBuckets {
		if w, ok := want[b]; ok && cum[i] != w {
			t.Errorf("le %v: %d, want %d", b, cum[i], w)
		}
	}
}
