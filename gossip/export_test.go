package gossip

import "time"

// AdvertisePeer advertises addr as this node's peer endpoint: tests put a
// tarpit, a liar or a recording proxy in its place.
func (m *Mesh) AdvertisePeer(addr string) error {
	m.mu.Lock()
	m.cfg.Meta.Peer = addr
	m.mu.Unlock()
	return m.ml.UpdateNode(time.Second)
}
