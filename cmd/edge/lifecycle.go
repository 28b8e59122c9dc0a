package main

import (
	"context"
	"errors"
	"fmt"
)

// stack is what a start has brought up, to bring down in reverse order:
// on a failed start (whatever step failed) and on shutdown alike, as
// Caddy unwinds its apps. Each component is pushed right after it started.
type stack struct {
	stops []stop
}

type stop struct {
	name string
	fn   func(context.Context) error
}

// push records how to stop a component that just started.
func (s *stack) push(name string, fn func(context.Context) error) {
	s.stops = append(s.stops, stop{name, fn})
}

// pushClose records a component stopped by Close.
func (s *stack) pushClose(name string, close func() error) {
	s.push(name, func(context.Context) error { return close() })
}

// unwind stops everything in reverse order, each once, and joins their
// errors. Safe to call twice.
func (s *stack) unwind(ctx context.Context) error {
	var errs []error
	for i := len(s.stops) - 1; i >= 0; i-- {
		if err := s.stops[i].fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", s.stops[i].name, err))
		}
	}
	s.stops = nil
	return errors.Join(errs...)
}
