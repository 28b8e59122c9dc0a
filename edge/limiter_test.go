package edge_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
)

// pollUntil polls cond until it holds, failing the test after 5s.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type acquired struct {
	release func()
	err     error
}

// acquireAsync starts an Acquire and delivers its result on the channel.
func acquireAsync(ctx context.Context, l *edge.Limiter) <-chan acquired {
	ch := make(chan acquired, 1)
	go func() {
		release, err := l.Acquire(ctx)
		ch <- acquired{release, err}
	}()
	return ch
}

func mustAcquire(t *testing.T, l *edge.Limiter) func() {
	t.Helper()
	release, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if release == nil {
		t.Fatal("Acquire returned a nil release")
	}
	return release
}

func checkLoad(t *testing.T, l *edge.Limiter, inFlight, waiting int) {
	t.Helper()
	if got := l.InFlight(); got != inFlight {
		t.Errorf("InFlight = %d, want %d", got, inFlight)
	}
	if got := l.Waiting(); got != waiting {
		t.Errorf("Waiting = %d, want %d", got, waiting)
	}
}

func TestLimiterSlots(t *testing.T) {
	l := edge.NewLimiter(2, 2, 200*time.Millisecond)
	checkLoad(t, l, 0, 0)
	r1 := mustAcquire(t, l)
	r2 := mustAcquire(t, l)
	checkLoad(t, l, 2, 0)
	r1()
	checkLoad(t, l, 1, 0)
	r3 := mustAcquire(t, l)
	checkLoad(t, l, 2, 0)
	r2()
	r3()
	checkLoad(t, l, 0, 0)
}

func TestLimiterWaiterGetsReleasedSlot(t *testing.T) {
	// The wait is long so the hand-off, not the deadline, decides.
	l := edge.NewLimiter(2, 2, time.Minute)
	r1 := mustAcquire(t, l)
	r2 := mustAcquire(t, l)

	third := acquireAsync(context.Background(), l)
	pollUntil(t, "the third Acquire to queue", func() bool { return l.Waiting() == 1 })
	select {
	case got := <-third:
		t.Fatalf("third Acquire returned (%v) while both slots were held", got.err)
	default:
	}

	r1()
	got := <-third
	if got.err != nil {
		t.Fatalf("third Acquire after a release: %v", got.err)
	}
	checkLoad(t, l, 2, 0)
	got.release()
	r2()
	checkLoad(t, l, 0, 0)
}

func TestLimiterQueueFull(t *testing.T) {
	l := edge.NewLimiter(2, 2, time.Minute)
	r1 := mustAcquire(t, l)
	r2 := mustAcquire(t, l)
	w1 := acquireAsync(context.Background(), l)
	w2 := acquireAsync(context.Background(), l)
	pollUntil(t, "two queued Acquires", func() bool { return l.Waiting() == 2 })

	// With the wait at a minute, only an immediate refusal returns here.
	start := time.Now()
	release, err := l.Acquire(context.Background())
	if !errors.Is(err, edge.ErrOverloaded) {
		t.Fatalf("Acquire with a full queue: %v, want ErrOverloaded", err)
	}
	if release != nil {
		t.Error("a refused Acquire returned a release func")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusal took %v, want at once", d)
	}
	checkLoad(t, l, 2, 2)

	// The refusal did not take a place: both waiters still get slots.
	r1()
	r2()
	for _, w := range []<-chan acquired{w1, w2} {
		got := <-w
		if got.err != nil {
			t.Fatalf("queued Acquire: %v", got.err)
		}
		got.release()
	}
	checkLoad(t, l, 0, 0)
}

func TestLimiterZeroQueue(t *testing.T) {
	l := edge.NewLimiter(1, 0, time.Minute)
	r := mustAcquire(t, l)
	if _, err := l.Acquire(context.Background()); !errors.Is(err, edge.ErrOverloaded) {
		t.Fatalf("Acquire with no queue: %v, want ErrOverloaded", err)
	}
	r()
}

func TestLimiterWaitTimesOut(t *testing.T) {
	const wait = 200 * time.Millisecond
	l := edge.NewLimiter(2, 2, wait)
	r1 := mustAcquire(t, l)
	r2 := mustAcquire(t, l)
	defer r1()
	defer r2()

	start := time.Now()
	release, err := l.Acquire(context.Background())
	elapsed := time.Since(start)
	if !errors.Is(err, edge.ErrOverloaded) {
		t.Fatalf("Acquire past the wait: %v, want ErrOverloaded", err)
	}
	if release != nil {
		t.Error("a timed-out Acquire returned a release func")
	}
	if elapsed < wait {
		t.Errorf("gave up after %v, before the %v wait", elapsed, wait)
	}
	checkLoad(t, l, 2, 0)
}

func TestLimiterContextCancel(t *testing.T) {
	tests := []struct {
		name string
		// ctx returns the context, what ends it while Acquire waits,
		// and its cleanup.
		ctx   func() (ctx context.Context, end, stop func())
		cause error
	}{
		{"cancel", func() (context.Context, func(), func()) {
			ctx, cancel := context.WithCancel(context.Background())
			return ctx, cancel, cancel
		}, context.Canceled},
		{"cancel with cause", func() (context.Context, func(), func()) {
			ctx, cancel := context.WithCancelCause(context.Background())
			return ctx, func() { cancel(errClientGone) }, func() { cancel(nil) }
		}, errClientGone},
		{"deadline", func() (context.Context, func(), func()) {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			return ctx, func() {}, cancel
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The queue wait is a minute: only the context can end it.
			l := edge.NewLimiter(2, 2, time.Minute)
			r1 := mustAcquire(t, l)
			r2 := mustAcquire(t, l)
			defer r1()
			defer r2()

			ctx, end, stop := tt.ctx()
			defer stop()
			ch := acquireAsync(ctx, l)
			if tt.cause != context.DeadlineExceeded {
				pollUntil(t, "the Acquire to queue", func() bool { return l.Waiting() == 1 })
			}
			end()
			select {
			case got := <-ch:
				if !errors.Is(got.err, tt.cause) {
					t.Errorf("Acquire after the context ended: %v, want %v", got.err, tt.cause)
				}
				if got.release != nil {
					t.Error("a cancelled Acquire returned a release func")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("a cancelled Acquire did not return")
			}
			checkLoad(t, l, 2, 0)
		})
	}
}

var errClientGone = errors.New("client went away")

// TestLimiterHammer runs many goroutines through the limiter and checks,
// under -race, that no more than the slots ever run at once and that the
// counters settle at zero.
func TestLimiterHammer(t *testing.T) {
	tests := []struct {
		name      string
		queue     int
		wait      time.Duration
		mayRefuse bool
	}{
		{"everyone waits", 50, time.Minute, false},
		{"short queue refuses", 2, 200 * time.Millisecond, true},
	}
	const (
		slots      = 2
		goroutines = 50
		rounds     = 20
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := edge.NewLimiter(slots, tt.queue, tt.wait)
			var running, peak, served, refused atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, goroutines*rounds)
			for range goroutines {
				wg.Go(func() {
					for range rounds {
						release, err := l.Acquire(context.Background())
						if err != nil {
							refused.Add(1)
							errs <- err
							continue
						}
						n := running.Add(1)
						for {
							p := peak.Load()
							if n <= p || peak.CompareAndSwap(p, n) {
								break
							}
						}
						if f := l.InFlight(); f > slots || f < 1 {
							errs <- errors.New("InFlight out of range while holding a slot")
						}
						if w := l.Waiting(); w < 0 || w > tt.queue {
							errs <- errors.New("Waiting out of range")
						}
						served.Add(1)
						running.Add(-1)
						release()
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if !tt.mayRefuse || !errors.Is(err, edge.ErrOverloaded) {
					t.Errorf("Acquire: %v", err)
				}
			}
			if p := peak.Load(); p > slots {
				t.Errorf("%d ran at once, limit %d", p, slots)
			}
			if served.Load()+refused.Load() != goroutines*rounds {
				t.Errorf("served %d + refused %d != %d", served.Load(), refused.Load(), goroutines*rounds)
			}
			if served.Load() == 0 {
				t.Error("no Acquire succeeded")
			}
			checkLoad(t, l, 0, 0)
		})
	}
}

// TestLimiterAppShare: while apps compete, one app holds at most its share
// and the rest stays free for the others; its excess requests queue and
// get the slots it frees. Alone, an app takes every slot.
func TestLimiterAppShare(t *testing.T) {
	l := edge.NewAppLimiter(4, 8, time.Minute, 75)
	var held []func()
	for range 3 {
		release, err := l.AcquireApp(context.Background(), "hostile", 2)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, release)
	}
	queued := make(chan acquired, 1)
	go func() {
		release, err := l.AcquireApp(context.Background(), "hostile", 2)
		queued <- acquired{release, err}
	}()
	pollUntil(t, "the hostile app's fourth request to queue", func() bool { return l.Waiting() == 1 })
	other, err := l.AcquireApp(context.Background(), "good", 2)
	if err != nil {
		t.Fatalf("the other app found no slot: %v", err)
	}
	checkLoad(t, l, 4, 1)
	other()
	checkLoad(t, l, 3, 1) // the free slot is not the hostile app's to take
	held[0]()
	got := <-queued
	if got.err != nil {
		t.Fatalf("queued request: %v", got.err)
	}
	checkLoad(t, l, 3, 0)
	got.release()
	for _, r := range held[1:] {
		r()
	}

	// Alone, the app takes every slot.
	for range 4 {
		defer mustAcquireApp(t, l, "alone", 1)()
	}
	checkLoad(t, l, 4, 0)
}

func mustAcquireApp(t *testing.T, l *edge.Limiter, app string, apps int) func() {
	t.Helper()
	release, err := l.AcquireApp(context.Background(), app, apps)
	if err != nil {
		t.Fatalf("AcquireApp: %v", err)
	}
	return release
}
