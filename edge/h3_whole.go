package edge

import (
	"errors"
	"hash/maphash"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/edgecdn/edge/edge/h2"
	"github.com/quic-go/qpack"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"
)

// HTTP/3 frame types (RFC 9114 7.2).
const (
	h3FrameData    = 0x0
	h3FrameHeaders = 0x1
)

// sendWholeH3 sends a complete response (status, w's header fields, body)
// on an HTTP/3 stream in one write, then closes the stream, so that it
// leaves in as few packets as it fits in, sent together.
//
// Through http3's own response writer a 4 KiB response is three writes to
// the QUIC stream (HEADERS frame, DATA frame, FIN), and a write of more
// than a packet blocks until the connection's goroutine has packed it: the
// connection sent the HEADERS alone, then the body, then the FIN, in
// separate sendmsg calls (4.3 per request measured with strace, against
// one for the response here). Each costs the node a syscall, packet
// protection and bookkeeping, and the client as much to receive.
//
// It reports false, having written nothing, when w is not the node's own
// HTTP/3 writer chain (a test's recorder, a wrapper that rewrites headers
// as they are written) or the header asks for trailers: the caller then
// writes the response as usual.
func sendWholeH3(w http.ResponseWriter, status int, body []byte) bool {
	rec, streamer := h3Streamer(w)
	if streamer == nil || rec == nil || rec.wroteHeader {
		return false
	}
	hdr := w.Header()
	if _, ok := hdr["Trailer"]; ok {
		return false
	}
	buf := h3Bufs.Get().(*h3Buf)
	defer h3Bufs.Put(buf)
	b, ok := buf.appendResponse(status, hdr, body)
	if !ok {
		return false
	}
	str, err := streamer.HTTPStream()
	if err != nil {
		return false
	}
	rec.status, rec.wroteHeader = status, true
	qs := str.QUICStream()
	// TryWriteAll queues the whole response at once (the client's stream
	// window is far larger than a small response); past the window the
	// blocking Write waits, bounded by the stream's write deadline.
	if err = qs.TryWriteAll(b); errors.Is(err, quic.ErrWouldBlock) {
		_, err = qs.Write(b)
	}
	if err != nil {
		str.CancelWrite(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
		str.CancelRead(quic.StreamErrorCode(http3.ErrCodeRequestCanceled))
		return true
	}
	rec.bytes = int64(len(body))
	// Close first: the FIN then rides on the response's last packet.
	// CancelRead is what http3.Server does after a handler: a no-op once
	// the request's end was read, STOP_SENDING otherwise.
	_ = str.Close()
	str.CancelRead(quic.StreamErrorCode(http3.ErrCodeNoError))
	return true
}

// headless is the body to send for r: none for a HEAD.
func headless(r *http.Request, data []byte) []byte {
	if r.Method == http.MethodHead {
		return nil
	}
	return data
}

// h3Streamer finds the recorder and http3's writer beneath w, through the
// wrappers that only watch (recorder, progressWriter).
func h3Streamer(w http.ResponseWriter) (*recorder, http3.HTTPStreamer) {
	rec, inner := beneathWatchers(w)
	if s, ok := inner.(http3.HTTPStreamer); ok {
		return rec, s
	}
	return nil, nil
}

// beneathWatchers is the writer beneath w's wrappers that only watch
// (recorder, progressWriter), with the recorder among them, if any.
func beneathWatchers(w http.ResponseWriter) (*recorder, http.ResponseWriter) {
	var rec *recorder
	for {
		switch v := w.(type) {
		case *recorder:
			rec, w = v, v.ResponseWriter
		case *progressWriter:
			w = v.ResponseWriter
		default:
			return rec, w
		}
	}
}

// h3Bufs are the buffers responses are built in: TryWriteAll copies them.
var h3Bufs = sync.Pool{New: func() any {
	h := &h3Buf{frame: make([]byte, 0, 8<<10)}
	h.enc = qpack.NewEncoder(h)
	return h
}}

// h3Buf builds one response: the QPACK field section, then the frames.
type h3Buf struct {
	enc   *qpack.Encoder // writes to block
	block []byte         // the encoded field section
	frame []byte         // HEADERS and DATA frames
}

// Write collects the QPACK encoder's output.
func (h *h3Buf) Write(p []byte) (int, error) { h.block = append(h.block, p...); return len(p), nil }

// appendResponse encodes a HEADERS frame and, for a non-empty body, a DATA
// frame. It reports false for a header http3 would not send as is (a
// trailer field).
func (h *h3Buf) appendResponse(status int, hdr http.Header, body []byte) ([]byte, bool) {
	h.block = h.block[:0]
	enc := h.enc
	_ = enc.Close() // a new field section: the prefix again
	_ = enc.WriteField(qpack.HeaderField{Name: ":status", Value: h2.StatusValue(status)})
	for k, vs := range hdr {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return nil, false
		}
		name := h2.FieldName(k)
		switch {
		case k == "X-Request-Id" && len(vs) == 1: // new every time
			h.appendLiteral(name, vs[0])
			continue
		case len(vs) == 1:
			h.appendShared(name, vs)
			continue
		}
		for _, v := range vs {
			_ = enc.WriteField(qpack.HeaderField{Name: name, Value: v})
		}
	}
	b := quicvarint.Append(h.frame[:0], h3FrameHeaders)
	b = quicvarint.Append(b, uint64(len(h.block)))
	b = append(b, h.block...)
	if len(body) > 0 {
		b = quicvarint.Append(b, h3FrameData)
		b = quicvarint.Append(b, uint64(len(body)))
		b = append(b, body...)
	}
	h.frame = b
	return b, true
}

// fieldLines caches the encoded field line of a header value that
// responses share (an asset's precomputed fields, its route's
// Cache-Control, this second's Date), keyed by the address of the value in
// its slice: a shared slice is the same one every time, so the line is
// encoded once rather than per response (QPACK's lookups and Huffman
// coding were 4-6% of the node's CPU serving 4 KiB). The value is kept
// beside the line and compared before use, so a slice changed in place is
// encoded again; so is the name, for a slice shared by two fields.
//
// It is direct-mapped: a value's slot is picked by its address's hash, and
// a value that lands on a taken slot replaces what was there. A lookup is
// then one hash of a pointer and one atomic load, with no lock and no map
// to grow or clear; old deploys' assets and past seconds are overwritten.
var (
	fieldLines    [fieldLineSlots]atomic.Pointer[fieldLine]
	fieldLineSeed = maphash.MakeSeed()
)

const fieldLineSlots = 4096 // a power of two

type fieldLine struct {
	key         *string
	name, value string
	line        []byte
}

// appendShared appends the field line of name: vs[0], from the cache when
// it holds that value.
func (h *h3Buf) appendShared(name string, vs []string) {
	key := &vs[0]
	slot := &fieldLines[maphash.Comparable(fieldLineSeed, key)&(fieldLineSlots-1)]
	if f := slot.Load(); f != nil && f.key == key && f.value == *key && f.name == name {
		h.block = append(h.block, f.line...)
		return
	}
	start := len(h.block)
	_ = h.enc.WriteField(qpack.HeaderField{Name: name, Value: *key})
	slot.Store(&fieldLine{key: key, name: name, value: *key, line: slices.Clone(h.block[start:])})
}

// appendLiteral appends name: value as a field line with a literal name
// and a literal value, without Huffman coding (RFC 9204 4.5.6): for a
// value new in every response (the request id), whose Huffman coding
// would cost more CPU than the few bytes it saves. name is lower case.
func (h *h3Buf) appendLiteral(name, value string) {
	h.block = h2.AppendInt(h.block, 0x20, 3, uint64(len(name))) // 001, N=0, H=0
	h.block = append(h.block, name...)
	h.block = h2.AppendInt(h.block, 0x00, 7, uint64(len(value))) // H=0
	h.block = append(h.block, value...)
}
