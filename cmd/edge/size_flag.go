package main

import (
	"strconv"

	"github.com/edgecdn/edge/edge/app"
)

// sizeFlag is a byte count written as edge.toml writes sizes ("256MiB",
// "512KiB", a plain number); "off" stores -1, and 0 keeps the default.
type sizeFlag struct{ dst *int64 }

func (f *sizeFlag) String() string {
	if f.dst == nil {
		return ""
	}
	return strconv.FormatInt(*f.dst, 10)
}

func (f *sizeFlag) Set(v string) error {
	switch v {
	case "off":
		*f.dst = -1
		return nil
	case "0":
		*f.dst = 0
		return nil
	}
	n, err := app.ParseSize(v)
	if err != nil {
		return err
	}
	*f.dst = n
	return nil
}

// Type names the value for help output (and for pflag, should the CLI
// move to it).
func (f *sizeFlag) Type() string { return "size" }
