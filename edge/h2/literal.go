package h2

import "golang.org/x/net/http2/hpack"

// HPACK literal field lines (RFC 7541 6.2.2 and 6.2.3), for Fields.

// staticNames are the response field names of HPACK's static table (RFC
// 7541 Appendix A) with their index: a literal line names them by index.
var staticNames = map[string]uint64{
	"accept-ranges": 18, "access-control-allow-origin": 20, "age": 21, "allow": 22,
	"cache-control": 24, "content-disposition": 25, "content-encoding": 26,
	"content-language": 27, "content-length": 28, "content-location": 29,
	"content-range": 30, "content-type": 31, "date": 33, "etag": 34, "expires": 36,
	"last-modified": 44, "link": 45, "location": 46, "refresh": 52, "retry-after": 53,
	"server": 54, "set-cookie": 55, "strict-transport-security": 56, "vary": 59,
	"via": 60, "www-authenticate": 61,
}

// appendLiteral appends the field line name: value as a literal that adds
// nothing to the dynamic table: never indexed for set-cookie (a cookie
// must stay out of every table on the way, 6.2.3), without indexing else.
func appendLiteral(b []byte, name, value string) []byte {
	var first byte // 0000: without indexing
	if name == "set-cookie" {
		first = 0x10 // 0001: never indexed
	}
	if i, ok := staticNames[name]; ok {
		b = AppendInt(b, first, 4, i)
	} else {
		b = append(b, first)
		b = appendString(b, name)
	}
	return appendString(b, value)
}

// appendString appends s as an HPACK string literal (5.2), Huffman-coded
// when that is shorter.
func appendString(b []byte, s string) []byte {
	if n := hpack.HuffmanEncodeLength(s); n < uint64(len(s)) {
		b = AppendInt(b, 0x80, 7, n)
		return hpack.AppendHuffmanString(b, s)
	}
	b = AppendInt(b, 0, 7, uint64(len(s)))
	return append(b, s...)
}

// appendInt appends i with an n-bit prefix (5.1), the first byte's other
// bits being first's.
func AppendInt(b []byte, first byte, n uint, i uint64) []byte {
	k := uint64(1)<<n - 1
	if i < k {
		return append(b, first|byte(i))
	}
	b = append(b, first|byte(k))
	for i -= k; i >= 128; i >>= 7 {
		b = append(b, byte(0x80|i&0x7f))
	}
	return append(b, byte(i))
}
