package h2

import (
	"bytes"
	"context"
	ctls "crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// fuzzSeeds are frame sequences a client sends after the preface: a GET,
// a POST with a body and trailers, flow control, priority, padding, a
// split header block, and hostile ones (a stream reset twice, a window
// overflow).
func fuzzSeeds() [][]byte {
	var out [][]byte
	add := func(write func(fr *http2.Framer, block func(...string) []byte)) {
		var buf bytes.Buffer
		fr := http2.NewFramer(&buf, nil)
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		block := func(kv ...string) []byte {
			hb.Reset()
			for i := 0; i+1 < len(kv); i += 2 {
				_ = enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
			}
			return bytes.Clone(hb.Bytes())
		}
		_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
		write(fr, block)
		out = append(out, buf.Bytes())
	}
	get := []string{":method", "GET", ":scheme", "https", ":authority", "x", ":path", "/"}
	post := []string{":method", "POST", ":scheme", "https", ":authority", "x", ":path", "/up", "content-length", "5"}
	add(func(fr *http2.Framer, b func(...string) []byte) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b(get...), EndStream: true, EndHeaders: true})
		_ = fr.WritePing(false, [8]byte{1})
	})
	add(func(fr *http2.Framer, b func(...string) []byte) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: b(post...), EndHeaders: true})
		_ = fr.WriteDataPadded(3, false, []byte("hel"), []byte{0, 0})
		_ = fr.WriteData(3, false, []byte("lo"))
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: b("x-sum", "1"), EndStream: true, EndHeaders: true})
		_ = fr.WriteWindowUpdate(0, 1000)
	})
	add(func(fr *http2.Framer, b func(...string) []byte) {
		blk := b(get...)
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: blk[:3], EndStream: true,
			Priority: http2.PriorityParam{StreamDep: 1, Weight: 7}})
		_ = fr.WriteContinuation(5, true, blk[3:])
		_ = fr.WritePriority(7, http2.PriorityParam{StreamDep: 5})
		_ = fr.WriteRSTStream(5, http2.ErrCodeCancel)
		_ = fr.WriteRSTStream(5, http2.ErrCodeCancel)
	})
	add(func(fr *http2.Framer, b func(...string) []byte) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b(get...), EndStream: true, EndHeaders: true})
		_ = fr.WriteWindowUpdate(1, 1<<31-1)
		_ = fr.WriteWindowUpdate(0, 1<<31-1)
		_ = fr.WriteGoAway(0, http2.ErrCodeNo, nil)
	})
	return out
}

// FuzzFrames feeds arbitrary frames to a connection: whatever they are,
// the server must neither panic nor hang (the connection ends once the
// client's side closes), and its answers must be well-formed frames.
func FuzzFrames(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	srv := New(Config{MaxHeaderBytes: 4 << 10, WriteTimeout: time.Second})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Trailer", "X-T")
		_, _ = w.Write(bytes.Repeat([]byte("r"), 20<<10))
		w.Header().Set("X-T", "t")
	})
	f.Fuzz(func(t *testing.T, frames []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.serveConn(server, &ctls.ConnectionState{}, h, context.Background())
		}()
		read := make(chan error, 1)
		go func() {
			// The server's answers must parse as frames.
			fr := http2.NewFramer(nil, client)
			for {
				if _, err := fr.ReadFrame(); err != nil {
					read <- err
					return
				}
			}
		}()
		_, _ = client.Write([]byte(http2.ClientPreface))
		_, _ = client.Write(frames)
		_ = client.Close()
		<-done
		if err := <-read; err != nil && err != io.EOF && err != io.ErrClosedPipe {
			if _, ok := err.(http2.ConnectionError); ok {
				t.Fatalf("server sent a malformed frame: %v", err)
			}
		}
	})
}
