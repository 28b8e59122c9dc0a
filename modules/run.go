package modules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Command is one run of a WASI command module: its argv, environment and
// stdin. Nothing else of the host is visible to the guest: no files, no
// host environment, no network.
type Command struct {
	Args  []string
	Env   [][2]string
	Stdin []byte
	// laid, when set (by WAGICommand), holds argv and the env instead of
	// Args and Env, as the guest reads them: argsLen bytes of argc
	// NUL-terminated strings, then envc "KEY=VALUE" ones, then a NUL.
	laid       []byte
	argsLen    int
	argc, envc int
}

// Argv is the command's argv: Args, or what WAGICommand laid out.
func (c *Command) Argv() []string {
	if c.laid == nil {
		return c.Args
	}
	return splitNUL(c.laid[:c.argsLen])
}

// Environ is the command's environment: Env, or what WAGICommand laid
// out. A variable's name never holds "=" (WAGI's names are CGI's, HTTP_*
// of a header's token, or a manifest's, which refuses one).
func (c *Command) Environ() [][2]string {
	if c.laid == nil {
		return c.Env
	}
	var env [][2]string
	for _, kv := range splitNUL(c.laid[c.argsLen : len(c.laid)-1]) {
		k, v, _ := strings.Cut(kv, "=")
		env = append(env, [2]string{k, v})
	}
	return env
}

// splitNUL splits NUL-terminated strings.
func splitNUL(b []byte) []string {
	var ss []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		ss = append(ss, string(b[:i]))
		b = b[i+1:]
	}
	return ss
}

// Output is what a guest wrote, and how long the run took.
type Output struct {
	Stdout   []byte
	Stderr   []byte
	Duration time.Duration
	// Instantiate is the part of Duration spent before the guest's code
	// ran: a fresh store and its instance (0 if it never got one).
	Instantiate time.Duration
}

// Run executes m's _start in a fresh store with the given limits and returns
// what the guest wrote. Stdin, stdout and stderr live in memory; stdout is
// capped while the guest runs (past the cap its writes fail). The guest is
// stopped at lim.Timeout or ctx's deadline, whichever is first, even while
// it waits in a host call, and within an EpochTick of ctx being cancelled. Errors wrap
// ErrTrap, ErrDeadline, ErrCanceled, ErrOutputTooLarge or ErrInvalidModule;
// Output is returned in every case, so the caller can log the guest's
// stderr.
func (e *Engine) Run(ctx context.Context, m *Module, cmd *Command, lim Limits) (*Output, error) {
	_, out, err := e.execute(ctx, m, false, cmd, lim)
	return out, err
}

// execute is one run for either executor (abi: the edge ABI): limits
// defaulted and capped at the pool's slot size, one fresh store, and the
// outcome mapped onto our sentinels.
func (e *Engine) execute(ctx context.Context, m *Module, abi bool, cmd *Command, lim Limits) (*runResult, *Output, error) {
	if m.engine != e {
		return nil, &Output{}, fmt.Errorf("modules: run %s: %w: compiled by another engine", m.name, ErrInvalidModule)
	}
	if err := ctx.Err(); err != nil {
		return nil, &Output{}, fmt.Errorf("modules: run %s: %w before it started", m.name, ctxError(err))
	}
	lim = e.capLimits(lim)
	timeout := lim.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	e.enter()
	r := e.c.run(ctx, m.c, abi, cmd, lim, timeout)
	e.leave()
	out := &r.out
	*out = Output{Stdout: r.stdout, Stderr: r.stderr, Duration: r.duration, Instantiate: r.instantiate}
	if r.stdoutOver || r.headOver {
		return r, out, fmt.Errorf("modules: run %s: %w: more than %d bytes", m.name, ErrOutputTooLarge, lim.MaxOutput)
	}
	if err := r.err(ctx); err != nil {
		return r, out, fmt.Errorf("modules: run %s: %w", m.name, err)
	}
	return r, out, nil
}

// capLimits defaults lim and caps it at what the engine allows every
// guest: memory at the pool's slot size, output at the node's bound.
func (e *Engine) capLimits(lim Limits) Limits {
	lim = lim.WithDefaults()
	lim.Memory = min(lim.Memory, e.cfg.MaxMemory)
	lim.MaxOutput = min(lim.MaxOutput, e.cfg.MaxOutput)
	lim.MaxStderr = min(lim.MaxStderr, e.cfg.MaxOutput)
	return lim
}

// ctxError maps a context's error onto our sentinels: its deadline is the
// request's deadline; a cancellation means the client left.
func ctxError(err error) error {
	if err == nil {
		return ErrCanceled
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: the request's deadline passed", ErrDeadline)
	}
	return fmt.Errorf("%w: %w", ErrCanceled, err)
}

// err maps a run's outcome onto our sentinels. A WASI exit with status 0 is
// success: wasi-libc and Go call proc_exit(0) at the end of main.
func (r *runResult) err(ctx context.Context) error {
	switch r.stopped {
	case stopDeadline:
		return fmt.Errorf("%w: interrupted", ErrDeadline)
	case stopCancel:
		return fmt.Errorf("interrupted: %w", ctxError(ctx.Err()))
	}
	switch r.stage {
	case stageOK:
		return nil
	case stageNoExport:
		return fmt.Errorf("%w: the module lacks the export its executor calls", ErrInvalidModule)
	case stageSetup:
		return fmt.Errorf("%w: set up the store: %s", ErrTrap, r.message)
	}
	switch {
	case r.exitSet && r.exitCode == 0:
		return nil
	case r.exitSet:
		return fmt.Errorf("%w: exited with status %d", ErrTrap, r.exitCode)
	}
	return fmt.Errorf("%w: %s: %s", ErrTrap, r.stage, r.message)
}
