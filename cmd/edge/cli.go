package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes: 0 success, 1 the command failed, 2 it was called wrongly.
const (
	exitFailure = 1
	exitUsage   = 2
)

// usageError is a command called wrongly: exit 2, with the command's usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// run builds the command tree for args, runs it, and turns its error into
// an exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(args)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	if isUsage(err) {
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", cmd.CommandPath(), err, cmd.CommandPath())
		return exitUsage
	}
	fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), err)
	return exitFailure
}

// isUsage tells usage errors, ours and cobra's (unknown command or flag),
// from failures.
func isUsage(err error) bool {
	var ue *usageError
	if errors.As(err, &ue) {
		return true
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag")
}

// newRoot is the `edge` command and its subcommands. args are the command
// line: `edge serve --config FILE` reads the file before its flags are
// defined, so they bind onto what the file filled.
func newRoot(args []string) *cobra.Command {
	root := &cobra.Command{
		Use:           "edge",
		Short:         "An edge CDN compute node and its command-line client",
		Long:          "edge runs a node (edge serve) and talks to a running node's admin API (every other command).",
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err.Error()} })
	root.AddCommand(
		serveCmd(args, runServe), deployCmd(), appsCmd(), appCmd(), rollbackCmd(), certsCmd(), purgeCmd(), membersCmd(),
		keygenCmd(), keysCmd(), gossipKeyCmd(), cacheCmd(), versionCmd(),
	)
	return root
}

// exactArgs wants the positional arguments named in names, no more, no
// fewer: a usage error otherwise.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		if len(names) == 0 {
			return usagef("takes no arguments, got %q", args)
		}
		return usagef("wants %s, got %d argument(s)", strings.Join(names, " "), len(args))
	}
}

// groupCmd is a command that only holds subcommands: called alone or with
// an unknown subcommand, it is a usage error naming the ones it has.
func groupCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var names []string
			for _, c := range cmd.Commands() {
				names = append(names, c.Name())
			}
			if len(args) > 0 {
				return usagef("unknown command %q, want one of: %s", args[0], strings.Join(names, ", "))
			}
			return usagef("wants a command: %s", strings.Join(names, ", "))
		},
	}
	cmd.AddCommand(subs...)
	return cmd
}
