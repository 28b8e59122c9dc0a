package gossip

import (
	"encoding/json"
	"fmt"
)

// Meta is what a node tells the mesh about itself (memberlist node
// metadata, at most 512 bytes once encoded).
type Meta struct {
	Region   string `json:"r,omitempty"`
	Arch     string `json:"a,omitempty"`
	Engine   string `json:"e,omitempty"` // engine fingerprint, shortened
	Peer     string `json:"p,omitempty"` // peer endpoint host:port
	Public   string `json:"u,omitempty"` // public HTTP(S) address
	Software string `json:"v,omitempty"`
	Key      string `json:"k,omitempty"` // node key (base64), signs shared artifacts
	// Caps are the message kinds this node takes beyond the first ones
	// (capInline): a sender uses them only with members that list them.
	Caps int `json:"c,omitempty"`
}

// metaLimit is memberlist's cap on node metadata.
const metaLimit = 512

func (m Meta) encode() ([]byte, error) {
	if len(m.Engine) > 16 {
		m.Engine = m.Engine[:16]
	}
	b, _ := json.Marshal(m)
	if len(b) > metaLimit {
		return nil, fmt.Errorf("gossip: node metadata is %d bytes, over %d", len(b), metaLimit)
	}
	return b, nil
}

func decodeMeta(b []byte) Meta {
	var m Meta
	_ = json.Unmarshal(b, &m)
	return m
}
