package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// baselineEdge, when set (-baseline BIN), is a second edge binary served
// beside the node as the peer "edge baseline", on the static and dynamic rows: two
// builds measured in one run, interleaved like every other peer, so a
// change is read as a ratio rather than across runs on a drifting load.
var baselineEdge string

const baselineName = "edge baseline"

// startBaseline runs the baseline binary on the same app, with its own
// data directory (one bbolt file per process) and so its own dev CA.
func (fx *fixture) startBaseline(port int) (*exec.Cmd, error) {
	plain, err := freePort()
	if err != nil {
		return nil, err
	}
	fx.baselinePlain = fmt.Sprintf("127.0.0.1:%d", plain)
	return launch(filepath.Join(fx.work, "edge-baseline.log"), nil, baselineEdge, "serve",
		"--data", filepath.Join(fx.work, "edge-data-baseline"), "--app", fx.appDir, "--admin", "",
		"--log-level", "warn", "--http", fx.baselinePlain, "--https", fmt.Sprintf("127.0.0.1:%d", port))
}

func (fx *fixture) baselinePlainBase() string { return "http://" + fx.baselinePlain }
