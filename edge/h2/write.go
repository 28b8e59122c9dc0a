package h2

import (
	"encoding/binary"

	"golang.org/x/net/http2"
)

// Frames are encoded by hand straight into the connection's write batch:
// a frame header is nine bytes, and going through http2.Framer would copy
// every DATA payload once more into the framer's own buffer.

const (
	frameHeaderLen = 9
	// maxDataPayload is the largest DATA payload the node sends: with its
	// header a frame is exactly 16,384 bytes, one full TLS record, where a
	// 16,384-byte payload would spill nine bytes into a second record.
	maxDataPayload = 16384 - frameHeaderLen
)

// appendFrameHeader appends a frame header for a payload of length n.
func appendFrameHeader(b []byte, n int, t http2.FrameType, flags http2.Flags, id uint32) []byte {
	return append(b, byte(n>>16), byte(n>>8), byte(n), byte(t), byte(flags),
		byte(id>>24)&0x7f, byte(id>>16), byte(id>>8), byte(id))
}

func appendData(b []byte, id uint32, p []byte, end bool) []byte {
	var fl http2.Flags
	if end {
		fl = http2.FlagDataEndStream
	}
	b = appendFrameHeader(b, len(p), http2.FrameData, fl, id)
	return append(b, p...)
}

// appendHeaderBlock appends block as a HEADERS frame and as many
// CONTINUATION frames as maxFrame requires.
func appendHeaderBlock(b []byte, id uint32, block []byte, end bool, maxFrame int) []byte {
	t, fl := http2.FrameHeaders, http2.Flags(0)
	if end {
		fl = http2.FlagHeadersEndStream
	}
	for first := true; first || len(block) > 0; first = false {
		n := min(len(block), maxFrame)
		f := fl
		if n == len(block) {
			f |= http2.FlagHeadersEndHeaders
		}
		b = appendFrameHeader(b, n, t, f, id)
		b = append(b, block[:n]...)
		block = block[n:]
		t, fl = http2.FrameContinuation, 0
	}
	return b
}

func appendRST(b []byte, id uint32, code http2.ErrCode) []byte {
	b = appendFrameHeader(b, 4, http2.FrameRSTStream, 0, id)
	return binary.BigEndian.AppendUint32(b, uint32(code))
}

func appendWindowUpdate(b []byte, id uint32, inc uint32) []byte {
	b = appendFrameHeader(b, 4, http2.FrameWindowUpdate, 0, id)
	return binary.BigEndian.AppendUint32(b, inc&0x7fffffff)
}

func appendPing(b []byte, data [8]byte, ack bool) []byte {
	var fl http2.Flags
	if ack {
		fl = http2.FlagPingAck
	}
	b = appendFrameHeader(b, 8, http2.FramePing, fl, 0)
	return append(b, data[:]...)
}

func appendSettings(b []byte, settings ...http2.Setting) []byte {
	b = appendFrameHeader(b, 6*len(settings), http2.FrameSettings, 0, 0)
	for _, s := range settings {
		b = binary.BigEndian.AppendUint16(b, uint16(s.ID))
		b = binary.BigEndian.AppendUint32(b, s.Val)
	}
	return b
}

func appendSettingsAck(b []byte) []byte {
	return appendFrameHeader(b, 0, http2.FrameSettings, http2.FlagSettingsAck, 0)
}

func appendGoAway(b []byte, last uint32, code http2.ErrCode) []byte {
	b = appendFrameHeader(b, 8, http2.FrameGoAway, 0, 0)
	b = binary.BigEndian.AppendUint32(b, last&0x7fffffff)
	return binary.BigEndian.AppendUint32(b, uint32(code))
}
