package gossip_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// memberlist's message types (net.go), for reading its packets in the
// simulator; they are part of its wire protocol.
const (
	mlAlive    = 4
	mlCompound = 7
	mlCRC      = 12
)

// withoutAlive returns packet b without the alive messages that name
// name, nil if nothing is left. b is one of memberlist's packets,
// unencrypted and uncompressed: [CRC header] then one message or a
// compound of them.
func withoutAlive(b []byte, name string) (out []byte, stripped int) {
	crc := len(b) > 5 && b[0] == mlCRC
	body := b
	if crc {
		body = b[5:]
	}
	about := func(part []byte) bool {
		return len(part) > 0 && part[0] == mlAlive && bytes.Contains(part, []byte(name))
	}
	if len(body) == 0 || body[0] != mlCompound {
		if about(body) {
			return nil, 1
		}
		return b, 0
	}
	if len(body) < 2 || len(body) < 2+2*int(body[1]) {
		return b, 0 // not a compound message memberlist wrote
	}
	n := int(body[1])
	lens, rest := body[2:2+2*n], body[2+2*n:]
	var keep [][]byte
	for i := range n {
		l := int(binary.BigEndian.Uint16(lens[2*i:]))
		if l > len(rest) {
			return b, 0
		}
		part := rest[:l]
		rest = rest[l:]
		if about(part) {
			stripped++
			continue
		}
		keep = append(keep, part)
	}
	if stripped == 0 {
		return b, 0
	}
	if len(keep) == 0 {
		return nil, stripped
	}
	msg := []byte{mlCompound, byte(len(keep))}
	for _, p := range keep {
		msg = binary.BigEndian.AppendUint16(msg, uint16(len(p)))
	}
	for _, p := range keep {
		msg = append(msg, p...)
	}
	if crc {
		msg = append(binary.BigEndian.AppendUint32([]byte{mlCRC}, crc32.ChecksumIEEE(msg)), msg...)
	}
	return msg, stripped
}

// TestMissedAliveRepaired: the case that made a mesh take minutes to
// form. A newcomer joins one member; memberlist spreads its alive message
// by gossip, a bounded number of times, and here every copy of it to a
// third member in another region is lost (the simulator strips it from
// each packet: what chance and 1 % loss do now and then in a mesh of 50).
// That member holds no state of the newcomer at all, so neither the
// probes nor the rejoin of members seen before repair it; memberlist's
// periodic push/pull would, after 1-4 minutes at 50-200 nodes, and it is
// off here. Every member must still see every other within 120 gossip
// rounds: the newcomer says hello to each member it learns of, and the
// one that does not know it joins it (about 8 s here).
func TestMissedAliveRepaired(t *testing.T) {
	w := newWAN(2, 0)
	key, priv := keys(t)
	rm := &regionMesh{w: w, priv: priv, key: key, dead: new(atomic.Int64), suspected: new(atomic.Int64), regions: 2}
	const newcomer = "newcomer"
	var stripped atomic.Int64
	var zAddr atomic.Value
	zAddr.Store("")
	w.filter = func(from, to string, b []byte) []byte {
		if to != zAddr.Load().(string) {
			return b
		}
		out, n := withoutAlive(b, newcomer)
		stripped.Add(int64(n))
		return out
	}
	var gossipEvery time.Duration
	ro := regionOpts{wanPreset: true, rejoin: time.Second, tune: func(mc *memberlist.Config) {
		mc.Keyring = nil // packets the simulator can read
		mc.EnableCompression = false
		mc.PushPullInterval = 0 // the repair is not the periodic push/pull
		gossipEvery = mc.GossipInterval
	}}
	open := func(name string, join []string, r int) *node {
		n, err := rm.open(t, name, join, key, ro, r)
		if err != nil {
			t.Fatal(err)
		}
		rm.nodes, rm.regionOf = append(rm.nodes, n), append(rm.regionOf, r)
		return n
	}
	a := open("a", nil, 0)
	z := open("z", []string{a.mesh.Addr()}, 1)
	t.Cleanup(func() { stopAll(rm.nodes) })
	waitFor(t, time.Minute, "a and z see each other", func() bool { return a.mesh.NumMembers() == 2 && z.mesh.NumMembers() == 2 })
	zAddr.Store(z.mesh.Addr())

	open(newcomer, []string{a.mesh.Addr()}, 0)
	bound := 120 * gossipEvery // 60 s on the WAN preset; push/pull would take 1-4 min, and is off
	pollFor(t, bound, "every member sees every member", func() bool {
		for _, n := range rm.nodes {
			if n.mesh.NumMembers() != len(rm.nodes) {
				return false
			}
		}
		return true
	})
	if stripped.Load() == 0 {
		t.Fatal("no alive message of the newcomer was stripped on its way to z: the test did not test the miss")
	}
	t.Logf("%d alive messages of the newcomer stripped on their way to z", stripped.Load())
}
