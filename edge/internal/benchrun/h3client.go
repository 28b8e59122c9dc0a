package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/quic-go/qpack"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/quicvarint"
)

// h3Client is the HTTP/3 load generator's client: one QUIC connection,
// one GET at a time, spoken directly on quic-go's streams.
//
// It replaces http.Client over http3.Transport, which took more CPU per
// request than the server it measured (148 against the node's 125 µs):
// on 2 shared cores a generator's CPU is taken from the server, so every
// h3 row was bounded by the generator and their ratios squeezed towards
// 1. Here the request's HEADERS frame is encoded once; a response is read
// through one reused buffer, its HEADERS decoded only for the status, and
// its DATA frames counted, not copied out. quic-go does the same QUIC work
// as under http3.Transport: packets, streams, flow control, TLS.
type h3Client struct {
	conn    *quic.Conn
	request []byte // the HEADERS frame of every request
	br      *bufio.Reader
	dec     *qpack.Decoder
}

// h3Frame types (RFC 9114 7.2) and the control stream's type (6.2.1).
const (
	h3Data          = 0x0
	h3Headers       = 0x1
	h3Settings      = 0x4
	h3ControlStream = 0x0
	h3MaxFieldBlock = 64 << 10
)

// dialH3 connects to rawURL's host and prepares its GET, with header
// (name, value pairs) on every request, until ctx is done.
func dialH3(ctx context.Context, rawURL string, header ...string) (*h3Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	conn, err := quic.DialAddr(ctx, u.Host, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h3"}}, &quic.Config{})
	if err != nil {
		return nil, err
	}
	// Every HTTP/3 endpoint opens a control stream whose first frame is
	// SETTINGS (RFC 9114 6.2.1); an empty one takes every default.
	ctrl, err := conn.OpenUniStream()
	if err == nil {
		_, err = ctrl.Write([]byte{h3ControlStream, h3Settings, 0})
	}
	if err != nil {
		_ = conn.CloseWithError(0, "")
		return nil, fmt.Errorf("h3 control stream: %w", err)
	}
	// The load's end closes the connection: that ends a read still waiting
	// for a server that does not answer.
	context.AfterFunc(ctx, func() { _ = conn.CloseWithError(0, "") })
	return &h3Client{conn: conn, request: h3Request(u, header), br: bufio.NewReaderSize(nil, h3MaxFieldBlock), dec: qpack.NewDecoder()}, nil
}

// h3Request encodes the HEADERS frame of a GET of u.
func h3Request(u *url.URL, header []string) []byte {
	var block []byte
	enc := qpack.NewEncoder(writerFunc(func(p []byte) (int, error) { block = append(block, p...); return len(p), nil }))
	fields := []string{":method", "GET", ":scheme", "https", ":authority", u.Host, ":path", u.RequestURI()}
	for _, f := range [][]string{fields, header} {
		for i := 0; i+1 < len(f); i += 2 {
			// HTTP/3 field names are lower case (RFC 9114 4.2).
			_ = enc.WriteField(qpack.HeaderField{Name: strings.ToLower(f[i]), Value: f[i+1]})
		}
	}
	b := quicvarint.Append(nil, h3Headers)
	b = quicvarint.Append(b, uint64(len(block)))
	return append(b, block...)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// get sends one GET and reads its response whole: the status and the
// body's length.
func (c *h3Client) get(ctx context.Context) (status int, n int64, err error) {
	str, err := c.conn.OpenStreamSync(ctx)
	if err != nil {
		return 0, 0, err
	}
	if _, err = str.Write(c.request); err != nil {
		str.CancelRead(0)
		return 0, 0, err
	}
	// The request ends here. A server that has its answer may already have
	// asked us to stop sending (STOP_SENDING): Close then fails, and the
	// response is still to be read (RFC 9114 4.1).
	_ = str.Close()
	c.br.Reset(str)
	status, n, err = c.readResponse()
	if err != nil {
		str.CancelRead(0)
	}
	return status, n, err
}

// readResponse reads frames to the stream's end: the first HEADERS gives
// the status, DATA frames the body; others (a trailer, unknown frames)
// are skipped.
func (c *h3Client) readResponse() (status int, n int64, err error) {
	for {
		typ, err := quicvarint.Read(c.br)
		if errors.Is(err, io.EOF) && status != 0 {
			return status, n, nil
		}
		if err != nil {
			return 0, 0, err
		}
		size, err := quicvarint.Read(c.br)
		if err != nil {
			return 0, 0, err
		}
		switch {
		case typ == h3Headers && status == 0:
			if status, err = c.readStatus(size); err != nil {
				return 0, 0, err
			}
		case typ == h3Data && status == 0:
			return 0, 0, errors.New("h3: DATA before HEADERS")
		default:
			if typ == h3Data {
				n += int64(size)
			}
			if _, err := c.br.Discard(int(size)); err != nil {
				return 0, 0, err
			}
		}
	}
}

// readStatus reads a HEADERS frame's field section of size bytes and
// returns its :status.
func (c *h3Client) readStatus(size uint64) (int, error) {
	if size > h3MaxFieldBlock {
		return 0, fmt.Errorf("h3: a %d-byte field section", size)
	}
	block, err := c.br.Peek(int(size))
	if err != nil {
		return 0, err
	}
	next := c.dec.Decode(block)
	status := 0
	for {
		f, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("h3: response fields: %w", err)
		}
		if f.Name == ":status" {
			status, _ = strconv.Atoi(f.Value)
		}
	}
	_, _ = c.br.Discard(int(size))
	if status == 0 {
		return 0, errors.New("h3: a response without :status")
	}
	return status, nil
}

func (c *h3Client) close() { _ = c.conn.CloseWithError(0, "") }
