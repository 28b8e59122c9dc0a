package main

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestStackUnwindsInReverse: components stop in the reverse of their
// start, every one even when some fail, and a second unwind does nothing.
func TestStackUnwindsInReverse(t *testing.T) {
	var s stack
	var order []string
	for _, name := range []string{"engine", "cache", "server", "admin"} {
		s.push(name, func(context.Context) error {
			order = append(order, name)
			if name == "cache" {
				return errors.New("boom")
			}
			return nil
		})
	}
	err := s.unwind(context.Background())
	if got := strings.Join(order, " "); got != "admin server cache engine" {
		t.Errorf("stopped in order %q", got)
	}
	if err == nil || !strings.Contains(err.Error(), "stop cache: boom") {
		t.Errorf("unwind error = %v", err)
	}
	if err := s.unwind(context.Background()); err != nil || len(order) != 4 {
		t.Errorf("second unwind: %v, %d stops", err, len(order))
	}
}
