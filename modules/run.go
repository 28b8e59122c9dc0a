package modules

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// Command is one run of a WASI command module: its argv, environment and
// stdin. Nothing else of the host is visible to the guest.
type Command struct {
	Args  []string
	Env   [][2]string
	Stdin []byte
}

// Output is what a guest wrote, and how long the run took.
type Output struct {
	Stdout   []byte
	Stderr   []byte
	Duration time.Duration
}

// Run executes m's _start in a fresh store with the given limits and returns
// what the guest wrote. Errors wrap ErrTrap, ErrDeadline or ErrOutputTooLarge;
// Output is returned in every case, so the caller can log the guest's stderr.
func (e *Engine) Run(m *Module, cmd *Command, lim Limits) (*Output, error) {
	if m.engine != e {
		return &Output{}, fmt.Errorf("modules: run %s: %w: compiled by another engine", m.name, ErrInvalidModule)
	}
	lim = lim.WithDefaults()
	start := time.Now()
	gio, wasi, err := e.newGuestIO(cmd, lim)
	if err != nil {
		return &Output{}, fmt.Errorf("modules: run %s: set up stdio: %w", m.name, err)
	}
	runErr := e.runStore(m, wasi, lim)
	gio.finish()
	out := &Output{
		Stdout:   gio.stdout.buf.Bytes(),
		Stderr:   gio.stderr.buf.Bytes(),
		Duration: time.Since(start),
	}
	if gio.stdout.over {
		return out, fmt.Errorf("modules: run %s: %w: more than %d bytes", m.name, ErrOutputTooLarge, lim.MaxOutput)
	}
	if runErr != nil {
		return out, fmt.Errorf("modules: run %s: %w", m.name, runErr)
	}
	return out, nil
}

// newGuestIO builds the WASI configuration for one run: argv, env, and
// pipes for stdio. Our copies of the guest's pipe ends are closed as soon as
// Wasmtime has opened its own, so end-of-file arrives when the store drops.
func (e *Engine) newGuestIO(cmd *Command, lim Limits) (*guestIO, *wasmtime.WasiConfig, error) {
	wasi := wasmtime.NewWasiConfig()
	wasi.SetArgv(cmd.Args)
	keys, vals := make([]string, len(cmd.Env)), make([]string, len(cmd.Env))
	for i, kv := range cmd.Env {
		keys[i], vals[i] = kv[0], kv[1]
	}
	wasi.SetEnv(keys, vals)

	g := &guestIO{}
	var err error
	if g.stdout, err = e.pipeOut(wasi.SetStdoutFile, lim.MaxOutput, false); err != nil {
		wasi.Close()
		g.finishOnError()
		return nil, nil, err
	}
	if g.stderr, err = e.pipeOut(wasi.SetStderrFile, lim.MaxStderr, true); err == nil {
		err = g.pipeIn(wasi, cmd.Stdin)
	}
	if err != nil {
		wasi.Close() // closes Wasmtime's copies of the pipe ends
		g.finishOnError()
		return nil, nil, err
	}
	return g, wasi, nil
}

// pipeOut creates a capture and points one WASI output stream at it.
func (e *Engine) pipeOut(set func(string) error, max int64, dropTail bool) (*capture, error) {
	c, w, err := newCapture(max, dropTail)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	path, err := procPath(w)
	if err == nil {
		err = set(path)
	}
	return c, err
}

// pipeIn gives the guest its stdin: /dev/null without a body, else a pipe
// fed in the background.
func (g *guestIO) pipeIn(wasi *wasmtime.WasiConfig, body []byte) error {
	if len(body) == 0 {
		return wasi.SetStdinFile(os.DevNull)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	path, err := procPath(r)
	if err == nil {
		err = wasi.SetStdinFile(path)
	}
	if err != nil {
		_ = w.Close()
		return err
	}
	g.startFeed(w, body)
	return nil
}

// finishOnError is finish for a run that never started: the guest's write
// ends were never opened by a store, so closing ours ends the drains.
func (g *guestIO) finishOnError() {
	for _, c := range []*capture{g.stdout, g.stderr} {
		if c != nil {
			c.wait()
		}
	}
}

// runStore instantiates m in a new store and calls _start. The store is
// closed explicitly before returning, which closes the guest's pipe ends.
func (e *Engine) runStore(m *Module, wasi *wasmtime.WasiConfig, lim Limits) error {
	store := wasmtime.NewStore(e.wt)
	defer store.Close()
	store.Limiter(lim.Memory, lim.TableElements, 10, 10, 1)
	store.SetEpochDeadline(deadlineTicks(lim.Timeout))
	store.SetWasi(wasi)

	inst, err := e.linker.Instantiate(store, m.wt)
	if err != nil {
		return classify(err, "instantiate")
	}
	start := inst.GetFunc(store, "_start")
	if start == nil {
		return fmt.Errorf("%w: no _start export", ErrInvalidModule)
	}
	if _, err := start.Call(store); err != nil {
		return classify(err, "run")
	}
	return nil
}

// classify maps a Wasmtime error onto our sentinels. A WASI exit with
// status 0 is success: wasi-libc and Go call proc_exit(0) at the end of main.
func classify(err error, stage string) error {
	var werr *wasmtime.Error
	if errors.As(err, &werr) {
		if status, ok := werr.ExitStatus(); ok {
			if status == 0 {
				return nil
			}
			return fmt.Errorf("%w: exited with status %d", ErrTrap, status)
		}
	}
	var trap *wasmtime.Trap
	if errors.As(err, &trap) {
		if code := trap.Code(); code != nil && *code == wasmtime.Interrupt {
			return fmt.Errorf("%w: interrupted", ErrDeadline)
		}
	}
	return fmt.Errorf("%w: %s: %w", ErrTrap, stage, err)
}
