package edge_test

import (
	ctls "crypto/tls"
	"io"
	"net/http"
	"testing"

	"github.com/quic-go/quic-go/http3"
)

// BenchmarkServeStatic fetches a 4 KiB file held in the object cache over
// a real loopback connection, one protocol at a time, through the whole
// node (server, write deadlines, handler). The client shares the process,
// so ns/op is the round trip of both; allocs/op moves with the node's
// per-request cost, and is what stays comparable on a loaded machine:
// compare two builds' allocs/op rather than their ns/op.
func BenchmarkServeStatic(b *testing.B) {
	n := startSmallFileNode(b, 0)
	tlsConf := &ctls.Config{RootCAs: n.pool}
	h1 := &http.Transport{TLSClientConfig: tlsConf.Clone(), TLSNextProto: map[string]func(string, *ctls.Conn) http.RoundTripper{}}
	h2 := &http.Transport{TLSClientConfig: tlsConf.Clone(), ForceAttemptHTTP2: true}
	h3 := &http3.Transport{TLSClientConfig: tlsConf.Clone()}
	b.Cleanup(func() { h1.CloseIdleConnections(); h2.CloseIdleConnections(); _ = h3.Close() })
	url := "https://" + n.srv.HTTPSAddr() + "/4k.bin"
	for _, c := range []struct {
		name string
		rt   http.RoundTripper
	}{{"h1", h1}, {"h2", h2}, {"h3", h3}} {
		b.Run(c.name, func(b *testing.B) {
			cl := &http.Client{Transport: c.rt}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := cl.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				m, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || m != 4<<10 {
					b.Fatalf("%s: %d, %d bytes", c.name, resp.StatusCode, m)
				}
			}
		})
	}
}
