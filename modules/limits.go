package modules

import (
	"time"
)

// Limits bound what one request may use. The zero value of a field means
// "use the default"; see DefaultLimits.
type Limits struct {
	// Memory caps the guest's linear memory, in bytes.
	Memory int64
	// TableElements caps the elements of each guest table.
	TableElements int64
	// Timeout is the wall-clock deadline of one request, enforced through
	// epoch interruption: a guest in an infinite loop is stopped.
	Timeout time.Duration
	// MaxOutput caps what the guest may write to stdout (headers and body).
	MaxOutput int64
	// MaxStderr caps how much of the guest's stderr is kept for the log.
	MaxStderr int64
}

// DefaultLimits are safe for a public node: enough for ordinary guests
// (a Go wasip1 program needs tens of MiB), small enough that a few hundred
// concurrent guests fit in memory.
func DefaultLimits() Limits {
	return Limits{
		Memory:        128 << 20,
		TableElements: 100_000,
		Timeout:       10 * time.Second,
		MaxOutput:     16 << 20,
		MaxStderr:     8 << 10,
	}
}

// WithDefaults returns l with each zero field taken from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.Memory == 0 {
		l.Memory = d.Memory
	}
	if l.TableElements == 0 {
		l.TableElements = d.TableElements
	}
	if l.Timeout == 0 {
		l.Timeout = d.Timeout
	}
	if l.MaxOutput == 0 {
		l.MaxOutput = d.MaxOutput
	}
	if l.MaxStderr == 0 {
		l.MaxStderr = d.MaxStderr
	}
	return l
}
