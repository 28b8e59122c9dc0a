package gossip

import (
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
