package gossip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip/state"
	"github.com/hashicorp/memberlist"
)

// A small version's new blobs travel inside the fan-out message that
// carries its state, so that the receiver has them when it learns of the
// version: no dial, no TLS handshake, no request to the sender's peer
// endpoint. Across a region boundary those are three round trips (up to
// 0.75 s at 250 ms), on the critical path of every relay; within a region
// they are a TLS handshake per member per deploy, which at 200 nodes on
// one machine is most of the CPU a deploy costs.
//
// Blobs are content-addressed: the receiver hashes each one and keeps it
// only if the state it came with passed verification (signed statement,
// signed manifest) and that manifest names the digest at that size.
// Anything else is refused, logged, and fetched as before. Only members
// advertising capInline in their metadata are sent such messages: a
// node that does not know the kind drops the whole message, state and
// all, and would wait for push/pull.

// msgFanInline is a fan-out message with blobs:
// [msgFanInline][role][len(via)][via][u32 len(state)][state JSON]
// then per blob [u32 len(blob)][blob].
const msgFanInline byte = 17

// capInline, in Meta.Caps, says a member takes msgFanInline messages.
const capInline = 1

// DefaultInlineMax is the most bytes of blobs one message carries: a
// version's new blobs are sent inline when they add up to no more. A
// message this size still fits a few TCP windows; larger versions are
// fetched, where kept connections and four fetches at once pay off.
const DefaultInlineMax = 64 << 10

// inlineMaxBlobs bounds the blobs of one message, whatever their size.
const inlineMaxBlobs = 64

// inlineMax is the configured bound (0: inline off, Config.InlineMax < 0).
func (m *Mesh) inlineMax() int {
	switch {
	case m.cfg.InlineMax < 0:
		return 0
	case m.cfg.InlineMax == 0:
		return DefaultInlineMax
	}
	return min(m.cfg.InlineMax, DefaultInlineMax)
}

func encodeFanInline(role byte, via string, rec Record, blobs [][]byte) ([]byte, error) {
	plain, err := encodeFan(role, via, rec)
	if err != nil {
		return nil, err
	}
	head, body := plain[:3+len(via)], plain[3+len(via):]
	size := len(plain) + 4
	for _, b := range blobs {
		size += 4 + len(b)
	}
	msg := make([]byte, 0, size)
	msg = append(msg, head...)
	msg[0] = msgFanInline
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(body)))
	msg = append(msg, body...)
	for _, b := range blobs {
		msg = binary.BigEndian.AppendUint32(msg, uint32(len(b)))
		msg = append(msg, b...)
	}
	return msg, nil
}

// errInlineFraming is any malformed msgFanInline message.
var errInlineFraming = errors.New("gossip: malformed inline fan-out message")

// decodeFanInline reads a msgFanInline message; blobs alias msg. It
// refuses more than inlineMaxBlobs blobs or DefaultInlineMax bytes of
// them, whatever the sender's bound.
func decodeFanInline(msg []byte) (role byte, via string, rec Record, blobs [][]byte, err error) {
	if len(msg) < 3 || msg[0] != msgFanInline || msg[1] > fanRelay || len(msg) < 3+int(msg[2])+4 {
		return 0, "", nil, nil, errInlineFraming
	}
	n := int(msg[2])
	role, via = msg[1], string(msg[3:3+n])
	rest := msg[3+n:]
	body, rest, ok := cut32(rest)
	if !ok {
		return 0, "", nil, nil, errInlineFraming
	}
	if rec, err = decodeRecord(append([]byte{msgState}, body...)); err != nil {
		return 0, "", nil, nil, err
	}
	total := 0
	for len(rest) > 0 {
		var b []byte
		if b, rest, ok = cut32(rest); !ok || len(blobs) == inlineMaxBlobs {
			return 0, "", nil, nil, errInlineFraming
		}
		if total += len(b); total > DefaultInlineMax {
			return 0, "", nil, nil, fmt.Errorf("gossip: inline blobs over %d bytes", DefaultInlineMax)
		}
		blobs = append(blobs, b)
	}
	return role, via, rec, blobs, nil
}

// cut32 splits a length-prefixed field off b.
func cut32(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

// fanMsgs are one fan-out message in its two forms: inline goes to the
// members that advertise capInline (nil: none carries blobs), plain to the
// others.
type fanMsgs struct{ plain, inline []byte }

// to is the message for member n.
func (f fanMsgs) to(n *memberlist.Node) []byte {
	if f.inline != nil && decodeMeta(n.Meta).Caps&capInline != 0 {
		return f.inline
	}
	return f.plain
}

// encodeFanFor encodes rec for the fan-out, with the blobs of its version
// that prev lacks inline if they fit the bound.
func (m *Mesh) encodeFanFor(role byte, rec Record, prev *cache.Manifest) (fanMsgs, error) {
	plain, err := encodeFan(role, m.cfg.Name, rec)
	if err != nil {
		return fanMsgs{}, err
	}
	blobs := m.newBlobs(rec, prev)
	if blobs == nil {
		return fanMsgs{plain: plain}, nil
	}
	inline, err := encodeFanInline(role, m.cfg.Name, rec, blobs)
	if err != nil {
		return fanMsgs{plain: plain}, nil
	}
	return fanMsgs{plain: plain, inline: inline}, nil
}

// newBlobs reads the blobs of rec's version that prev does not name, if
// they are stored here and add up to no more than inlineMax; nil if
// they do not, or there are none. It stops at the bound: a version of
// many files costs one pass over them.
func (m *Mesh) newBlobs(rec Record, prev *cache.Manifest) [][]byte {
	bound := int64(m.inlineMax())
	if bound == 0 || rec.Removed || rec.Manifest == nil {
		return nil
	}
	had := map[string]bool{}
	if prev != nil {
		for _, f := range prev.Files {
			had[f.Digest] = true
		}
	}
	want := map[cache.Digest]bool{}
	total := int64(0)
	for _, f := range rec.Manifest.Files {
		d, err := cache.ParseDigest(f.Digest)
		if err != nil || had[f.Digest] || want[d] {
			continue
		}
		want[d] = true
		if total += f.Size; total > bound || len(want) > inlineMaxBlobs {
			return nil
		}
	}
	if len(want) == 0 {
		return nil
	}
	blobs := make([][]byte, 0, len(want))
	for d := range want {
		b, err := m.cfg.Cache.ReadBlob(d)
		if err != nil {
			return nil // not here (pruned meanwhile): the receivers fetch
		}
		blobs = append(blobs, b)
	}
	return blobs
}

// digestSizes maps each digest the manifest names to its size.
func digestSizes(man *cache.Manifest) map[cache.Digest]int64 {
	out := make(map[cache.Digest]int64, len(man.Files))
	for _, f := range man.Files {
		if d, err := cache.ParseDigest(f.Digest); err == nil {
			out[d] = f.Size
		}
	}
	return out
}

// inlineSet are the blobs a message carried for one state, verified,
// waiting for the apply loop to store them.
type inlineSet struct {
	stamp state.Stamp
	blobs map[cache.Digest][]byte
}

// keepInline keeps the blobs that came with rec, checked against best,
// the verified state of the same stamp this node holds: each must hash to
// a digest best's signed manifest names, at its size, or it is refused
// (logged, counted) and fetched instead.
func (m *Mesh) keepInline(best Record, from string, blobs [][]byte) {
	if len(blobs) == 0 || best == nil || best.Removed || best.Manifest == nil {
		return
	}
	set := inlineSet{stamp: best.Stamp, blobs: map[cache.Digest][]byte{}}
	named := digestSizes(best.Manifest)
	for _, b := range blobs {
		d := cache.Sum(b)
		if size, ok := named[d]; !ok || size != int64(len(b)) {
			m.refuseInline(best, from, d, len(b))
			continue
		}
		if !m.cfg.Cache.HasBlob(d) {
			set.blobs[d] = bytes.Clone(b) // b aliases memberlist's buffer
		}
	}
	if len(set.blobs) == 0 {
		return
	}
	m.fan.mu.Lock()
	m.fan.inline[best.App] = set
	m.fan.mu.Unlock()
}

// refuseInline logs (rate-limited with the state refusals) and counts a
// blob that the signed manifest does not name.
func (m *Mesh) refuseInline(rec Record, from string, d cache.Digest, size int) {
	m.inlineRefused.Add(1)
	if !m.logRefusal(time.Now()) {
		return
	}
	m.log.Warn("inline blob refused: not in the signed manifest, fetching instead", "app", rec.App, "gen", rec.Stamp.Gen,
		"from", from, "digest", d, "bytes", size)
}

// InlineRefused is how many blobs carried in messages this node refused
// since start.
func (m *Mesh) InlineRefused() int64 { return m.inlineRefused.Load() }

// storeInline stores the blobs a message carried for rec that are among
// missing, and returns the digests still missing.
func (m *Mesh) storeInline(rec Record, missing []cache.Digest) []cache.Digest {
	m.fan.mu.Lock()
	set, ok := m.fan.inline[rec.App]
	if ok && set.stamp == rec.Stamp {
		delete(m.fan.inline, rec.App)
	}
	m.fan.mu.Unlock()
	if !ok || set.stamp != rec.Stamp {
		return missing
	}
	var rest []cache.Digest
	stored := 0
	for _, d := range missing {
		b, ok := set.blobs[d]
		if ok {
			_, err := m.cfg.Cache.PutBlobVerified(bytes.NewReader(b), d, int64(len(b))+1)
			if err == nil {
				stored++
				continue
			}
			m.log.Warn("inline blob not stored, fetching instead", "app", rec.App, "digest", d, "err", err)
		}
		rest = append(rest, d)
	}
	m.log.Debug("blobs stored from the message", "app", rec.App, "gen", rec.Stamp.Gen, "blobs", stored, "still_missing", len(rest))
	return rest
}

// dropInline forgets app's inline blobs older than stamp.
func (m *Mesh) dropInline(app string, stamp state.Stamp) {
	m.fan.mu.Lock()
	defer m.fan.mu.Unlock()
	if set, ok := m.fan.inline[app]; ok && set.stamp.Less(stamp) {
		delete(m.fan.inline, app)
	}
}
