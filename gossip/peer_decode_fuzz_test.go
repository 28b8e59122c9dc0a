package gossip

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"time"

	"github.com/edgecdn/edge/gossip/state"
	"github.com/edgecdn/edge/gossip/trust"
)

// fuzzPurgeTime is when the fuzzed purge statements are checked: the
// signed seeds are dated a minute before, so that they verify.
var fuzzPurgeTime = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// fuzzPurgeKey is a fixed deploy key, trusted for the app "shop" only.
func fuzzPurgeKey() (ed25519.PrivateKey, trust.Keyring) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	return key, trust.Keyring{{Pub: key.Public().(ed25519.PublicKey), Apps: []string{"shop"}}}
}

// fuzzPurgeStatement is a statement of app signed with key.
func fuzzPurgeStatement(app string, key ed25519.PrivateKey) *trust.PurgeStatement {
	st := &trust.PurgeStatement{App: app, Purge: json.RawMessage(`{"tag":"t1","soft":true}`),
		ID: "00112233445566778899aabbccddeeff", Time: fuzzPurgeTime.Add(-time.Minute)}
	trust.SignPurge(st, key)
	return st
}

// FuzzDecodePurge feeds any member's purge message to its decoder and
// to the signature check a member applies before acting on a statement.
// It never panics; what it accepts is one of a digest, a gap notice or a
// statement; and the only statement that passes the check is the one
// the trusted key signed, unaltered (a member holding the gossip key but
// no deploy key cannot change what is purged, in which app, or when),
// and it passes again once re-encoded for relaying.
func FuzzDecodePurge(f *testing.F) {
	key, ring := fuzzPurgeKey()
	genuine := fuzzPurgeStatement("shop", key)
	wantPurge := compactJSON(f, genuine.Purge)
	if err := trust.VerifyPurge(genuine, ring, fuzzPurgeTime, purgeMemory); err != nil {
		f.Fatalf("the genuine seed does not verify: %v", err)
	}
	for _, pm := range []purgeMessage{
		{Statement: genuine},
		{Statement: genuine, CatchUp: true},
		{Statement: fuzzPurgeStatement("blog", key)}, // signed, but the key is not trusted for blog
		{Digest: true, From: "n1", Have: []string{genuine.ID}},
		{From: "n1", Gap: &gapNotice{Up: fuzzPurgeTime.Add(-time.Hour), Lost: fuzzPurgeTime.Add(-20 * time.Minute)}},
	} {
		msg, err := encodePurge(pm)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msg)
	}
	for _, s := range []string{"", "{}", `{"statement":null}`, `{"statement":{}}`, `{"gap":{"up":"x"}}`, `[]`} {
		f.Add(append([]byte{msgPurge}, s...))
	}
	f.Add([]byte{msgState, '{', '}'})
	f.Fuzz(func(t *testing.T, msg []byte) {
		pm, err := decodePurge(msg)
		if err != nil {
			return
		}
		if !pm.Digest && pm.Gap == nil && pm.Statement == nil {
			t.Fatalf("accepted %q: neither a digest, a gap notice nor a statement", msg)
		}
		if pm.Digest || pm.Gap != nil {
			return // acted on as such (answerDigest, receiveGap): never a purge
		}
		st := pm.Statement
		if err := trust.VerifyPurge(st, ring, fuzzPurgeTime, purgeMemory); err != nil {
			return
		}
		if st.App != genuine.App || st.ID != genuine.ID || !st.Time.Equal(genuine.Time) || !bytes.Equal(compactJSON(t, st.Purge), wantPurge) {
			t.Fatalf("%q passed the check as %+v, which the key did not sign", msg, st)
		}
		again, err := encodePurge(purgeMessage{Statement: st})
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		pm2, err := decodePurge(again)
		if err != nil || trust.VerifyPurge(pm2.Statement, ring, fuzzPurgeTime, purgeMemory) != nil {
			t.Fatalf("%q verified, but not once relayed as %q (%v)", msg, again, err)
		}
	})
}

func compactJSON(t testing.TB, b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatalf("compact %q: %v", b, err)
	}
	return out.Bytes()
}

// FuzzDecodeRemoteState: a member's push/pull state (the catch-up path)
// never panics the decoder; what it keeps are states naming an app, the
// same ones a gossiped state message of each would give (the two paths
// take the same input), each re-encoding to the same message.
func FuzzDecodeRemoteState(f *testing.F) {
	good, _ := json.Marshal([]*state.AppState{{App: "site", Version: 1}, {App: "blog", Version: 2, Removed: true}})
	for _, s := range []string{string(good), "", "[]", "null", "[null]", `[{"app":""}]`, `[{"app":"x"},null,{}]`, `{"app":"x"}`, `[{"app":"x","stamp":{"gen":"1"}}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		recs, err := decodeRemoteState(buf)
		if err != nil {
			if recs != nil {
				t.Fatalf("%q: states %v with error %v", buf, recs, err)
			}
			return
		}
		for _, r := range recs {
			if r == nil || r.App == "" {
				t.Fatalf("%q: kept a state without an app: %+v", buf, r)
			}
			msg, err := encodeRecord(r)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			again, err := decodeRecord(msg)
			if err != nil {
				t.Fatalf("%q: state %+v kept from push/pull, refused as a message %q: %v", buf, r, msg, err)
			}
			if msg2, err := encodeRecord(again); err != nil || !bytes.Equal(msg2, msg) {
				t.Fatalf("%q: state %q re-encoded as %q (%v)", buf, msg, msg2, err)
			}
		}
	})
}

// FuzzDecodeMeta: any member's node metadata never panics the decoder;
// bytes that are not a JSON object give the zero Meta (the member then
// offers no peer endpoint, key or capability), and what it reads
// re-encodes to itself when it fits memberlist's limit.
func FuzzDecodeMeta(f *testing.F) {
	good, _ := Meta{Region: "eu", Arch: "amd64", Engine: "0123456789abcdef", Peer: "127.0.0.1:7947", Key: "AAAA", Caps: capInline}.encode()
	for _, s := range []string{string(good), "", "null", "{}", "[]", `{"c":"x","p":"127.0.0.1:1"}`, `{"c":1e2}`, `{"p":1}`, `{"r":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := decodeMeta(b)
		var obj map[string]json.RawMessage
		if json.Unmarshal(b, &obj) != nil || obj == nil {
			if m != (Meta{}) {
				t.Fatalf("%q is not a JSON object, decoded as %+v", b, m)
			}
			return
		}
		enc, err := m.encode()
		if err != nil || len(m.Engine) > 16 {
			return // not what a node sends: encode refuses or shortens it
		}
		if again := decodeMeta(enc); again != m {
			t.Fatalf("%q decoded as %+v, re-encoded %q decoded as %+v", b, m, enc, again)
		}
	})
}
