package gossip

import (
	"bytes"
	"net"
	"testing"

	"github.com/edgecdn/edge/gossip/state"
)

// FuzzDecodeRecord feeds arbitrary bytes to the decoder of gossiped
// messages: it never panics, and what it accepts names an app and
// re-encodes to a message it accepts again.
func FuzzDecodeRecord(f *testing.F) {
	good, _ := encodeRecord(&state.AppState{App: "site", Version: 1})
	for _, seed := range [][]byte{good, {}, {msgState}, {msgBye, 'a'}, append([]byte{msgState}, `{"app":""}`...), append([]byte{msgState}, `{"app":"x","manifest":{"files":null}}`...),
		append([]byte{msgState}, `{"app":"x","removed":true,"stamp":{"gen":9223372036854775807},"statement":{"app":"x","action":"remove","seq":1,"signer":"AA==","signature":"AA=="}}`...)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		rec, err := decodeRecord(msg)
		if err != nil {
			return
		}
		if rec.App == "" {
			t.Fatalf("accepted a state without an app: %q", msg)
		}
		again, err := encodeRecord(rec)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := decodeRecord(again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		_ = decodeMeta(msg) // node metadata from peers: must not panic either
	})
}

// FuzzDecodeFan: the regional fan-out's framing (role, holder name, state)
// from any member never panics, and what it accepts re-encodes to itself.
func FuzzDecodeFan(f *testing.F) {
	good, _ := encodeFan(fanRelay, "n001", &state.AppState{App: "site", Version: 1})
	for _, seed := range [][]byte{good, {}, {msgFan}, {msgFan, 1}, {msgFan, 9, 0, '{', '}'}, {msgFan, 0, 200, 'a'}, append([]byte{msgFan, 0, 0}, `{"app":"x"}`...)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		role, via, rec, err := decodeFan(msg)
		if err != nil {
			return
		}
		if rec.App == "" || role > fanRelay {
			t.Fatalf("accepted %q: role %d app %q", msg, role, rec.App)
		}
		again, err := encodeFan(role, via, rec)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if r2, v2, _, err := decodeFan(again); err != nil || r2 != role || v2 != via {
			t.Fatalf("re-decode: %d %q %v", r2, v2, err)
		}
	})
}

// FuzzDecodeFanInline: a fan-out message with blobs, from any member,
// never panics; what it accepts stays within the bounds on blobs and
// re-encodes to itself.
func FuzzDecodeFanInline(f *testing.F) {
	rec := &state.AppState{App: "site", Version: 1}
	good, _ := encodeFanInline(fanRelay, "n001", rec, [][]byte{[]byte("name = \"site\"\n"), []byte("page")})
	none, _ := encodeFanInline(fanMember, "", rec, nil)
	for _, seed := range [][]byte{good, none, {}, {msgFanInline}, {msgFanInline, 0, 0, 0, 0, 0, 2, '{', '}'},
		{msgFanInline, 0, 0, 0xff, 0xff, 0xff, 0xff}, append(append([]byte{}, none...), 0, 1, 0, 0)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		role, via, rec, blobs, err := decodeFanInline(msg)
		if err != nil {
			return
		}
		total := 0
		for _, b := range blobs {
			total += len(b)
		}
		if rec.App == "" || role > fanRelay || len(blobs) > inlineMaxBlobs || total > DefaultInlineMax {
			t.Fatalf("accepted %q: role %d app %q, %d blobs of %d bytes", msg, role, rec.App, len(blobs), total)
		}
		again, err := encodeFanInline(role, via, rec, blobs)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		r2, v2, _, b2, err := decodeFanInline(again)
		if err != nil || r2 != role || v2 != via || len(b2) != len(blobs) {
			t.Fatalf("re-decode: %d %q %d blobs %v", r2, v2, len(b2), err)
		}
	})
}

// FuzzDecodeHello: a member's hello (hello.go) never panics the decoder,
// what it accepts names a member and an address with a port, and
// re-encodes to itself.
func FuzzDecodeHello(f *testing.F) {
	good, _ := encodeHello("n001", "127.0.0.1:7946")
	for _, seed := range [][]byte{good, {}, {msgHello}, {msgHello, 0}, {msgHello, 0, ':', '1'}, {msgHello, 9, 'a'}, {msgHello, 1, 'a'}, {msgHello, 1, 'a', '[', ':', ':', '1', ']', ':', '1'}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		name, addr, err := decodeHello(msg)
		if err != nil {
			return
		}
		if name == "" {
			t.Fatalf("accepted a hello without a name: %q", msg)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			t.Fatalf("accepted a hello without a host and port: %q", msg)
		}
		again, err := encodeHello(name, addr)
		if err != nil || !bytes.Equal(again, msg) {
			t.Fatalf("re-encode of %q: %q %v", msg, again, err)
		}
	})
}
