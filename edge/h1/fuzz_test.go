package h1

import (
	"bufio"
	"bytes"
	"net/http"
	"reflect"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// FuzzParseHead: the head parser never panics, and never accepts a head
// net/http would refuse or read differently: what it serves itself,
// net/http's own reader parses to the same method, target, host, fields
// and Connection, with no body.
func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD /a?b HTTP/1.1\r\nHost: x:80\r\nConnection: close\r\nAccept: */*\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := headEnd(b)
		if n < 0 {
			return
		}
		h := parseHead(b[:n])
		if h.handOff {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b[:n])))
		if err != nil {
			t.Fatalf("accepted %q, net/http refuses it: %v", b[:n], err)
		}
		if req.Host == "" || !httpguts.ValidHostHeader(req.Host) { // ReadRequest took Host out of the map
			t.Fatalf("accepted %q, net/http's server refuses its Host %q", b[:n], req.Host)
		}
		for k, vs := range req.Header {
			for _, v := range vs {
				if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
					t.Fatalf("accepted %q, net/http's server refuses field %q: %q", b[:n], k, v)
				}
			}
		}
		if req.Method != h.method || req.RequestURI != h.target || req.Host != h.host || req.Close != h.close ||
			req.ContentLength != 0 || len(req.TransferEncoding) != 0 || req.ProtoMinor != 1 ||
			!reflect.DeepEqual(req.Header, h.header) || req.URL.String() != h.url.String() {
			t.Fatalf("%q: h1 read %s %s host=%q close=%v %v; net/http %s %s host=%q close=%v cl=%d %v",
				b[:n], h.method, h.target, h.host, h.close, h.header, req.Method, req.RequestURI, req.Host, req.Close, req.ContentLength, req.Header)
		}
	})
}
