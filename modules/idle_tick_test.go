package modules_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
)

// TestIdleEngineDoesNotTick: with nothing running for half a second the
// epoch ticker stops, so an idle node is not woken every EpochTick (it
// was, 200 times a second); a guest that starts while it is stopped is
// still stopped at its deadline, and a cancelled one at once.
func TestIdleEngineDoesNotTick(t *testing.T) {
	e := newEngine(t)
	loop := compile(t, e, watLoop)
	idle := func(when string) {
		t.Helper()
		time.Sleep(modules.IdleTicks*modules.EpochTick + 10*modules.EpochTick) // the ticks that find it idle
		before := e.Ticks()
		time.Sleep(40 * modules.EpochTick)
		if n := e.Ticks() - before; n > 1 {
			t.Fatalf("%s: %d epoch ticks in %v with nothing running", when, n, 40*modules.EpochTick)
		}
	}
	idle("after start")

	lim := modules.Limits{Memory: 1 << 20, Timeout: 100 * time.Millisecond, MaxOutput: 1 << 10}
	if _, err := e.Run(context.Background(), loop, &modules.Command{}, lim); !errors.Is(err, modules.ErrDeadline) {
		t.Fatalf("a spinning guest started on a stopped ticker: %v, want ErrDeadline", err)
	}
	if e.Ticks() == 0 {
		t.Fatal("the ticker did not run while a guest ran")
	}
	// More runs while it still ticks: each leaves a wake behind, which
	// must not keep it going for another idleTicks once they are over.
	lim.Timeout = 2 * modules.EpochTick
	for range 3 {
		if _, err := e.Run(context.Background(), loop, &modules.Command{}, lim); !errors.Is(err, modules.ErrDeadline) {
			t.Fatalf("a short spinning run: %v, want ErrDeadline", err)
		}
	}
	idle("after runs")

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	lim.Timeout = time.Minute
	if _, err := e.Run(ctx, loop, &modules.Command{}, lim); !errors.Is(err, modules.ErrCanceled) {
		t.Fatalf("a cancelled spinning guest: %v, want it cancelled", err)
	}
	idle("after a cancelled run")
}
