package h2

// flood keeps the budgets that stop a client from making the node work
// without asking for anything: frames the node must answer or handle
// (PING, SETTINGS, PRIORITY, empty DATA, frames it resets), and streams
// reset while their handler runs (rapid reset, CVE-2023-44487). Opening
// a stream earns control budget back and a handler that completes earns
// reset budget back, so a busy legitimate client never runs dry, while
// one that only pings, or only opens and resets, runs out and gets
// GOAWAY ENHANCE_YOUR_CALM. Counts, not rates: no clock involved.
type flood struct {
	ctrl, maxCtrl     int
	resets, maxResets int
}

const (
	controlBudget = 1000
	controlRefund = 10 // per stream opened
)

func newFlood(maxStreams int) flood {
	return flood{ctrl: controlBudget, maxCtrl: controlBudget, resets: 2 * maxStreams, maxResets: 2 * maxStreams}
}

// control spends one unit of control budget; false when none is left.
func (f *flood) control() bool {
	f.ctrl--
	return f.ctrl >= 0
}

// opened refunds control budget for a stream the client opened.
func (f *flood) opened() { f.ctrl = min(f.ctrl+controlRefund, f.maxCtrl) }

// reset spends reset budget on a stream the client reset while its
// handler ran; false when none is left.
func (f *flood) reset() bool {
	f.resets--
	return f.resets >= 0
}

// completed refunds reset budget for a response sent whole.
func (f *flood) completed() { f.resets = min(f.resets+1, f.maxResets) }
