package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
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

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprintf(stdout, "edge %s (wasmtime-go %s, quic-go %s, %s %s/%s)\n", version,
		dependencyVersion("github.com/bytecodealliance/wasmtime-go/v39"),
		dependencyVersion("github.com/quic-go/quic-go"),
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
