package main

import (
	"strings"
	"testing"
)

// TestSlotResetFlag: --slot-reset full gives the node an engine that
// resets whole slots, the default resets dirty pages, and a value the
// node does not know stops it with a message that names the choices.
func TestSlotResetFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "dirty_page_reset=true"},
		{[]string{"--slot-reset", "full"}, "dirty_page_reset=false"},
	} {
		p := startNode(t, t.TempDir(), append([]string{"--log-level", "debug"}, c.args...)...)
		p.waitLog(t, "engine ready")
		if c.args == nil && !strings.Contains(p.stderr(), "dirty_page_reset=true") {
			p.stop(t) // without the kernel's PAGEMAP_SCAN even the default resets whole slots
			t.Skip("this kernel has no PAGEMAP_SCAN (Linux 6.7+): nothing to choose between")
		}
		if !strings.Contains(p.stderr(), c.want) {
			t.Errorf("%v: the engine's line does not say %s:\n%s", c.args, c.want, p.stderr())
		}
		p.stop(t)
	}
	out, code := edgeCLI(t, "serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--https", "", "--admin", "", "--slot-reset", "nope")
	if code == 0 || !strings.Contains(out, `--slot-reset "nope": want dirty`) {
		t.Errorf("--slot-reset nope: exit %d\n%s", code, out)
	}
}
