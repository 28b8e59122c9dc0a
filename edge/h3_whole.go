package edge

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

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
	buf := h3Bufs.Get().(*[]byte)
	defer h3Bufs.Put(buf)
	b, ok := appendH3Response((*buf)[:0], status, hdr, body)
	*buf = b
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

// h3Streamer finds the recorder and http3's writer beneath w, through the
// wrappers that only watch (recorder, progressWriter).
func h3Streamer(w http.ResponseWriter) (*recorder, http3.HTTPStreamer) {
	var rec *recorder
	for {
		switch v := w.(type) {
		case *recorder:
			rec, w = v, v.ResponseWriter
		case *progressWriter:
			w = v.ResponseWriter
		case http3.HTTPStreamer:
			return rec, v
		default:
			return nil, nil
		}
	}
}

var h3Bufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// appendH3Response appends a HEADERS frame and, for a non-empty body, a
// DATA frame. It reports false for a header http3 would refuse to send
// as is (a trailer field).
func appendH3Response(b []byte, status int, hdr http.Header, body []byte) ([]byte, bool) {
	var block fieldBlock
	enc := qpack.NewEncoder(&block)
	_ = enc.WriteField(qpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
	for k, vs := range hdr {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return b, false
		}
		name := lowerHeaderName(k)
		for _, v := range vs {
			_ = enc.WriteField(qpack.HeaderField{Name: name, Value: v})
		}
	}
	b = quicvarint.Append(b, h3FrameHeaders)
	b = quicvarint.Append(b, uint64(len(block.b)))
	b = append(b, block.b...)
	if len(body) > 0 {
		b = quicvarint.Append(b, h3FrameData)
		b = quicvarint.Append(b, uint64(len(body)))
		b = append(b, body...)
	}
	return b, true
}

// fieldBlock collects the QPACK encoder's output.
type fieldBlock struct{ b []byte }

func (f *fieldBlock) Write(p []byte) (int, error) { f.b = append(f.b, p...); return len(p), nil }

// lowerHeaderName is the HTTP/3 field name of a canonical header key:
// the common ones without an allocation.
func lowerHeaderName(k string) string {
	switch k {
	case "Content-Type":
		return "content-type"
	case "Content-Length":
		return "content-length"
	case "Etag":
		return "etag"
	case "Last-Modified":
		return "last-modified"
	case "Accept-Ranges":
		return "accept-ranges"
	case "Cache-Control":
		return "cache-control"
	case "Date":
		return "date"
	case "X-Request-Id":
		return "x-request-id"
	}
	return strings.ToLower(k)
}
