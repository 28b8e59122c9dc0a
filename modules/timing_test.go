package modules_test

import (
	"context"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
)

// TestRunReportsInstantiateTime: a run's Output splits its Duration into
// the time to a ready instance and the guest's own run, so metrics can
// tell a slow instantiation from a slow guest; both parts are there,
// for a guest that finishes and for one its deadline stops.
func TestRunReportsInstantiateTime(t *testing.T) {
	e := newEngine(t)
	lim := modules.Limits{Memory: 4 << 20, Timeout: 100 * time.Millisecond, MaxOutput: 1 << 20}
	for name, wat := range map[string]string{"print": watPrint, "infinite loop": watLoop} {
		out, _ := e.Run(context.Background(), compile(t, e, wat), &modules.Command{Args: []string{"x"}}, lim)
		if out.Instantiate <= 0 || out.Instantiate >= out.Duration {
			t.Errorf("%s: instantiate %v of %v, want a part of it", name, out.Instantiate, out.Duration)
		}
	}
}
