package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// dependencyVersion reports the version of a module linked into the binary.
func dependencyVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "unknown"
}

// versionString is what `edge version` and `edge --version` print.
func versionString() string {
	return fmt.Sprintf("edge %s (wasmtime-go %s, quic-go %s, %s %s/%s)", version,
		dependencyVersion("github.com/bytecodealliance/wasmtime-go/v39"),
		dependencyVersion("github.com/quic-go/quic-go"),
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of edge and its runtime",
		Args:  exactArgs(),
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), versionString())
		},
	}
}
