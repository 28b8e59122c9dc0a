package gossip

import (
	"testing"
	"time"

	"github.com/edgecdn/edge/gossip/trust"
)

// Members ask each other for missed purges every half second in tests
// (5 s in a node), so that a catch-up after a partition heals is quick.
func init() { purgeSyncInterval = 500 * time.Millisecond }

// PurgeMessage encodes st as the message a member sends.
func PurgeMessage(st *trust.PurgeStatement) []byte {
	msg, _ := encodePurge(purgeMessage{Statement: st})
	return msg
}

// SetPurgeGapLimit shortens the longest gap the catch-up covers, so that
// a test need not keep a member away for ten minutes, until t ends (call
// it before starting meshes: cleanups run last in, first out).
func SetPurgeGapLimit(t testing.TB, d time.Duration) {
	old := purgeGapLimit
	purgeGapLimit = d
	t.Cleanup(func() { purgeGapLimit = old })
}
