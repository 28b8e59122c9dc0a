package modules_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
)

func newEngine(t testing.TB) *modules.Engine {
	t.Helper()
	e, err := modules.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func compile(t testing.TB, e *modules.Engine, wat string) *modules.Module {
	t.Helper()
	m, err := e.Compile("test.wasm", wasm(t, wat))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRunOutcomes(t *testing.T) {
	e := shared(t)
	lim := modules.Limits{Memory: 4 << 20, Timeout: 200 * time.Millisecond, MaxOutput: 1 << 20}
	tests := []struct {
		name string
		wat  string
		want error
	}{
		{"print", watPrint, nil},
		{"infinite loop", watLoop, modules.ErrDeadline},
		{"unreachable", watTrap, modules.ErrTrap},
		{"memory bomb", watGrow, modules.ErrTrap},
		{"output flood", watFlood, modules.ErrOutputTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.Run(context.Background(), compile(t, e, tt.wat), &modules.Command{Args: []string{"x"}}, lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if int64(len(out.Stdout)) > lim.MaxOutput {
				t.Errorf("kept %d bytes of stdout, cap is %d", len(out.Stdout), lim.MaxOutput)
			}
		})
	}
}

func TestRunStdinEcho(t *testing.T) {
	e := newEngine(t)
	m := compile(t, e, watEcho)
	for _, size := range []int{0, 1, 4095, 4096, 100_000, 3 << 20} {
		body := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		out, err := e.Run(context.Background(), m, &modules.Command{Stdin: body}, modules.Limits{})
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		_, got, _ := bytes.Cut(out.Stdout, []byte("\n\n"))
		if !bytes.Equal(got, body) {
			t.Fatalf("size %d: echoed %d bytes, want %d", size, len(got), len(body))
		}
	}
}

// TestRunConcurrentIsolation runs good and hostile guests together: the
// hostile ones get their errors, the good ones all succeed.
func TestRunConcurrentIsolation(t *testing.T) {
	e := newEngine(t)
	good := compile(t, e, watPrint)
	bad := map[string]*modules.Module{
		"loop": compile(t, e, watLoop), "trap": compile(t, e, watTrap),
		"grow": compile(t, e, watGrow), "flood": compile(t, e, watFlood),
	}
	lim := modules.Limits{Memory: 8 << 20, Timeout: 300 * time.Millisecond, MaxOutput: 4 << 20}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := e.Run(context.Background(), good, &modules.Command{}, lim)
			if err != nil || !bytes.HasSuffix(out.Stdout, []byte("hello")) {
				errs <- errors.Join(errors.New("good guest failed"), err)
			}
		}()
	}
	for name, m := range bad {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Run(context.Background(), m, &modules.Command{}, lim); err == nil {
				errs <- errors.New(name + ": hostile guest succeeded")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestOutputBoundedNodeWide: the engine's output bound caps every route's,
// and the buffer never grows past it.
func TestOutputBoundedNodeWide(t *testing.T) {
	e, err := modules.NewEngineWith(modules.EngineConfig{MaxOutput: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	out, err := e.Run(context.Background(), compile(t, e, watFlood), &modules.Command{}, modules.Limits{MaxOutput: 16 << 20})
	if !errors.Is(err, modules.ErrOutputTooLarge) || !strings.Contains(err.Error(), "more than 1048576 bytes") {
		t.Errorf("err = %v, want ErrOutputTooLarge at 1048576 bytes", err)
	}
	if len(out.Stdout) > 1<<20 {
		t.Errorf("kept %d bytes of output, more than the node's bound", len(out.Stdout))
	}
}
