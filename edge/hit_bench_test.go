package edge_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/edgecdn/edge/edge"
)

// BenchmarkPipelined4K compares a cache hit with the node's own static
// file (and a native handler) over one loopback HTTP/1.1 connection with
// pipelined requests: the client only writes request bytes and counts
// status lines, so ns/op and allocs/op are nearly all the server's
// (net/http and the handler) — the cost the issue asks a hit to keep to
// a static file's. Compare the sub-benchmarks of one run:
//
//	go test -run XXX -bench Pipelined4K -benchmem -count 5 ./edge/
func BenchmarkPipelined4K(b *testing.B) {
	for _, c := range []struct {
		name string
		h    func(*testing.B) http.Handler
	}{
		{"native", func(*testing.B) http.Handler { return native4K }},
		{"static", benchStaticHandler},
		{"hit", func(b *testing.B) http.Handler { return benchOriginHandler(b, true) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			srv := httptest.NewServer(c.h(b))
			defer srv.Close()
			runPipelined(b, srv.Listener.Addr().String())
		})
	}
}

// BenchmarkPipelined4KH1 is BenchmarkPipelined4K through the node's
// Server with either HTTP/1.1 server (--h1-server edge or std):
//
//	go test -run XXX -bench Pipelined4KH1 -benchmem -count 5 ./edge/
func BenchmarkPipelined4KH1(b *testing.B) {
	for _, h1 := range []string{edge.H1Edge, edge.H1Std} {
		for _, c := range []struct {
			name string
			h    func(*testing.B) http.Handler
		}{
			{"static", benchStaticHandler},
			{"hit", func(b *testing.B) http.Handler { return benchOriginHandler(b, true) }},
		} {
			b.Run(h1+"/"+c.name, func(b *testing.B) {
				srv := edge.NewServer(edge.ServerConfig{HTTPAddr: "127.0.0.1:0", H1: h1, Log: quietLog}, c.h(b))
				if err := srv.Start(); err != nil {
					b.Fatal(err)
				}
				defer srv.Shutdown(context.Background())
				runPipelined(b, srv.HTTPAddr())
			})
		}
	}
}

// runPipelined sends b.N pipelined GETs of /obj.bin to addr on one
// connection, reading until b.N "200 OK" responses came.
func runPipelined(b *testing.B, addr string) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req := []byte("GET /obj.bin HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	// Warm: the hit's first request fills the cache.
	warm := func(n int) {
		if _, err := conn.Write(bytes.Repeat(req, n)); err != nil {
			b.Fatal(err)
		}
		br := bufio.NewReader(conn)
		for range n {
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("warm-up: %v %v", resp, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	warm(2)
	const batch = 64
	many := bytes.Repeat(req, batch)
	b.SetBytes(int64(len(object4K)))
	b.ReportAllocs()
	b.ResetTimer()
	done := make(chan error, 1)
	go func() {
		for sent := 0; sent < b.N; sent += batch {
			k := min(batch, b.N-sent)
			if _, err := conn.Write(many[:k*len(req)]); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	status := []byte("HTTP/1.1 200 OK\r\n")
	buf := make([]byte, 256<<10)
	var carry []byte
	for got := 0; got < b.N; {
		n, err := conn.Read(buf)
		if err != nil {
			b.Fatalf("after %d responses: %v", got, err)
		}
		chunk := append(carry, buf[:n]...)
		got += bytes.Count(chunk, status)
		// A status line split between two reads is counted in the next.
		keep := min(len(chunk), len(status)-1)
		carry = append(carry[:0], chunk[len(chunk)-keep:]...)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
