package h2

import (
	"bytes"
	ctls "crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// startServer serves h over TLS on loopback with the package's HTTP/2
// server; its client speaks h2.
func startServer(t *testing.T, cfg Config, h http.Handler) (*httptest.Server, *Server) {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	ts.EnableHTTP2 = true
	ts.TLS = &ctls.Config{NextProtos: []string{"h2", "http/1.1"}}
	s := New(cfg)
	s.Install(ts.Config)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts, s
}

// rawClient is an HTTP/2 client that writes whatever frames a test
// wants, hostile ones included.
type rawClient struct {
	t    *testing.T
	conn *ctls.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	blk  bytes.Buffer
}

func dialRaw(t *testing.T, ts *httptest.Server) *rawClient {
	t.Helper()
	conn, err := ctls.Dial("tcp", ts.Listener.Addr().String(), &ctls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN: %q, want h2", p)
	}
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	c := &rawClient{t: t, conn: conn, fr: http2.NewFramer(conn, conn)}
	c.enc = hpack.NewEncoder(&c.blk)
	if err := c.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	// Fail rather than hang.
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

// headers encodes a GET for path (plus extra fields).
func (c *rawClient) headers(path string, extra ...string) []byte {
	c.blk.Reset()
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "localhost"}, {":path", path}} {
		_ = c.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	for i := 0; i+1 < len(extra); i += 2 {
		_ = c.enc.WriteField(hpack.HeaderField{Name: extra[i], Value: extra[i+1]})
	}
	return bytes.Clone(c.blk.Bytes())
}

func (c *rawClient) get(id uint32, path string, end bool) {
	c.t.Helper()
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.headers(path), EndStream: end, EndHeaders: true}); err != nil {
		c.t.Fatal(err)
	}
}

// goAway reads frames until a GOAWAY and returns its code; the
// connection closing first is a failure.
func (c *rawClient) goAway() http2.ErrCode {
	c.t.Helper()
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.t.Fatalf("connection ended without GOAWAY: %v", err)
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			return ga.ErrCode
		}
	}
}

// closed reads until the server closes the connection.
func (c *rawClient) closed() {
	c.t.Helper()
	for {
		if _, err := c.fr.ReadFrame(); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return
			}
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatal("the server did not close the connection")
			}
			return
		}
	}
}
