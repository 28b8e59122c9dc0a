package modules_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
)

// TestCancelWatchForgetsRuns: the cancellation watch holds a run only
// while it runs, whether it finished, was cancelled, or had a context that
// can never be cancelled; a cancelled run stops with ErrCanceled.
func TestCancelWatchForgetsRuns(t *testing.T) {
	e := shared(t)
	printer, loop := compile(t, e, watPrint), compile(t, e, watLoop)
	lim := modules.Limits{Timeout: 10 * time.Second}
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := e.Run(ctx, printer, &modules.Command{}, lim); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	if _, err := e.Run(context.Background(), printer, &modules.Command{}, lim); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := e.Run(ctx, loop, &modules.Command{}, lim); !errors.Is(err, modules.ErrCanceled) {
		t.Fatalf("cancelled run: err = %v, want ErrCanceled", err)
	}
	if n := modules.WatchedRuns(); n != 0 {
		t.Errorf("the watch still holds %d runs after they all returned", n)
	}
}
