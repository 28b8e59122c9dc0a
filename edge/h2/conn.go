package h2

import (
	"bufio"
	"bytes"
	"context"
	ctls "crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

const (
	maxWindow = 1<<31 - 1
	// maxBatch bounds one write: past it the writer sends what it has
	// and schedules the rest in the next round, so one large response
	// cannot hold the others back for long.
	maxBatch = 256 << 10
	// closeGrace is how long a connection that sent its last GOAWAY waits
	// for the client to close first, so the GOAWAY is read before a
	// close that could reset it away.
	closeGrace = time.Second
)

// conn is one HTTP/2 connection. One mutex guards all of its state: the
// read loop takes it per frame, handlers per flush, the writer per batch.
type conn struct {
	srv    *Server
	cfg    *Config
	tc     net.Conn // the TLS conn (a plain one in the fuzz test)
	corker corker   // the TCP conn beneath, if it can hold writes
	h      http.Handler
	base   context.Context
	tls    *ctls.ConnectionState
	remote string
	br     *bufio.Reader
	fr     *http2.Framer
	hdec   *hpack.Decoder
	hb     headerBlock

	mu          sync.Mutex
	wake        sync.Cond // the writer waits here for work
	wbuf, spare []byte    // frames queued for the next write; the buffer being written
	henc        *hpack.Encoder
	hbuf        bytes.Buffer
	streams     map[uint32]*stream
	ready       []*stream // streams with response bytes waiting for the writer
	maxID       uint32    // highest stream the client opened
	open        int       // streams open, against MaxStreams
	running     int       // handler goroutines not yet returned
	sendWindow  int64     // connection-level send window
	peerWindow  int64     // the client's SETTINGS_INITIAL_WINDOW_SIZE
	peerFrame   int       // largest DATA payload the node sends
	recvWindow  int       // bytes the client may still send on the connection
	recvUnacked int       // bytes consumed but not yet given back
	goingAway   bool      // GOAWAY sent: no stream past goAwayID opens
	goAwayID    uint32
	connFailed  bool // a connection error: frames read are discarded
	finished    bool // the writer sent its last frame
	dead        bool // writes fail: the writer has stopped
	idle        *time.Timer
	lastWD      time.Time // when the write deadline was last moved
	flood       flood
	writerDone  chan struct{}
}

func newConn(s *Server, tc net.Conn, state *ctls.ConnectionState, h http.Handler, base context.Context) *conn {
	c := &conn{
		srv: s, cfg: &s.cfg, tc: tc, h: h, base: base, tls: state,
		remote:     tc.RemoteAddr().String(),
		streams:    map[uint32]*stream{},
		sendWindow: 65535, peerWindow: 65535, peerFrame: maxDataPayload,
		recvWindow: s.cfg.ConnWindow,
		writerDone: make(chan struct{}),
	}
	c.wake.L = &c.mu
	if t, ok := tc.(*ctls.Conn); ok {
		c.corker, _ = t.NetConn().(corker)
	}
	c.br = bufio.NewReaderSize(tc, 16<<10)
	c.fr = http2.NewFramer(nil, c.br)
	c.fr.SetReuseFrames()
	c.fr.SetMaxReadFrameSize(16 << 10)
	c.hdec = hpack.NewDecoder(4096, c.hb.onField)
	// A field past the list limit gets 431, not a decoding error: the
	// block's size bound (checkBlockSize) is the one that protects.
	c.hdec.SetMaxStringLength(2 * s.cfg.MaxHeaderBytes)
	c.henc = hpack.NewEncoder(&c.hbuf)
	c.flood = newFlood(s.cfg.MaxStreams)
	return c
}

// serve runs the read loop until the connection ends.
// refused (the server is shutting down) sends GOAWAY at once.
func (c *conn) serve(refused bool) {
	defer c.tc.Close()
	_ = c.tc.SetDeadline(time.Time{})
	c.mu.Lock()
	c.wbuf = appendSettings(c.wbuf,
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: uint32(c.cfg.MaxStreams)},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(c.cfg.StreamWindow)},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: uint32(c.cfg.MaxHeaderBytes)},
	)
	if c.cfg.ConnWindow > 65535 {
		c.wbuf = appendWindowUpdate(c.wbuf, 0, uint32(c.cfg.ConnWindow-65535))
	}
	c.idle = time.AfterFunc(c.cfg.IdleTimeout, c.onIdle)
	if refused {
		c.goAway(0, http2.ErrCodeNo)
	}
	c.mu.Unlock()
	go c.writeLoop()

	err := c.readPreface()
	if err == nil {
		err = c.readLoop()
	}
	c.mu.Lock()
	c.die(err)
	c.mu.Unlock()
	<-c.writerDone
}

func (c *conn) readPreface() error {
	c.mu.Lock()
	c.setReadDeadline(time.Now().Add(c.cfg.ReadHeaderTimeout))
	c.mu.Unlock()
	buf := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c.br, buf); err != nil {
		return fmt.Errorf("h2: reading preface: %w", err)
	}
	if string(buf) != http2.ClientPreface {
		return errors.New("h2: bad client preface")
	}
	// The first frame must be SETTINGS (RFC 9113 3.4).
	f, err := c.fr.ReadFrame()
	if err != nil {
		return c.frameError(err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		return c.connError(http2.ErrCodeProtocol)
	}
	c.mu.Lock()
	c.setReadDeadline(time.Time{})
	err = c.process(f)
	c.kick()
	c.mu.Unlock()
	return c.frameError(err)
}

// setReadDeadline moves the read deadline, unless the writer has sent
// the last GOAWAY: then finish's closeGrace stands, or a client that sends
// its preface after that GOAWAY could hold the connection (and a graceful
// shutdown) open for as long as it stays. Callers hold c.mu.
func (c *conn) setReadDeadline(t time.Time) {
	if !c.finished {
		_ = c.tc.SetReadDeadline(t)
	}
}

// readLoop reads and handles frames until the connection fails.
func (c *conn) readLoop() error {
	for {
		f, err := c.fr.ReadFrame()
		c.mu.Lock()
		if c.connFailed {
			c.mu.Unlock()
			if err != nil {
				return err
			}
			continue // after our GOAWAY: read until the client closes
		}
		if err == nil {
			err = c.process(f)
		}
		if c.br.Buffered() == 0 || len(c.wbuf) >= maxBatch {
			c.kick()
		}
		c.mu.Unlock()
		if err = c.frameError(err); err != nil {
			return err
		}
	}
}

// frameError turns a protocol error into its RST_STREAM or GOAWAY and
// returns nil when the connection goes on (stream errors, and the
// connection errors whose GOAWAY is being sent).
func (c *conn) frameError(err error) error {
	if err == nil {
		return nil
	}
	var se http2.StreamError
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &se):
		c.mu.Lock()
		c.resetStream(se.StreamID, se.Code)
		c.kick()
		c.mu.Unlock()
		return nil
	case errors.As(err, &ce):
		return c.connError(http2.ErrCode(ce))
	case errors.Is(err, http2.ErrFrameTooLarge):
		return c.connError(http2.ErrCodeFrameSize)
	}
	return err
}

// connError sends GOAWAY with code and closes the connection once it
// is written; the read loop discards what still arrives.
func (c *conn) connError(code http2.ErrCode) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.connFailed {
		return nil
	}
	c.connFailed = true
	c.goAway(c.maxID, code)
	for _, st := range c.streams {
		c.closeStream(st, errConnClosed)
	}
	c.kick()
	return nil
}

// goAway queues a GOAWAY; no stream past last opens from now on. Callers
// hold c.mu (except ServeConn's before anything runs).
func (c *conn) goAway(last uint32, code http2.ErrCode) {
	if c.goingAway && last >= c.goAwayID && code == http2.ErrCodeNo {
		return
	}
	c.goingAway, c.goAwayID = true, last
	c.wbuf = appendGoAway(c.wbuf, last, code)
}

// gracefulClose sends GOAWAY; the connection closes when its streams
// are done (the writer checks).
func (c *conn) gracefulClose() {
	c.mu.Lock()
	c.goAway(c.maxID, http2.ErrCodeNo)
	c.kick()
	c.mu.Unlock()
}

// onIdle closes a connection that had no stream open for IdleTimeout.
func (c *conn) onIdle() {
	c.mu.Lock()
	if c.open == 0 {
		c.goAway(c.maxID, http2.ErrCodeNo)
		c.kick()
	}
	c.mu.Unlock()
}

var errConnClosed = errors.New("h2: connection closed")

// die ends every stream and stops the writer.
func (c *conn) die(err error) {
	if err == nil {
		err = errConnClosed
	}
	c.dead = true
	c.idle.Stop()
	for _, st := range c.streams {
		c.closeStream(st, err)
	}
	c.wake.Broadcast()
}

// kick wakes the writer if there is anything to write.
func (c *conn) kick() {
	if len(c.wbuf) > 0 || c.goingAway || (len(c.ready) > 0 && c.sendWindow > 0) {
		c.wake.Signal()
	}
}

// writeLoop sends the queued frames, a batch at a time, until the
// connection dies or has sent its last GOAWAY.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for !c.dead && len(c.wbuf) == 0 && !(len(c.ready) > 0 && c.sendWindow > 0) && !c.doneAfterGoAway() {
			c.wake.Wait()
		}
		if c.dead {
			return
		}
		c.schedule()
		if len(c.wbuf) == 0 {
			if c.doneAfterGoAway() {
				c.finish()
				return
			}
			continue
		}
		buf := c.wbuf
		c.wbuf, c.spare = c.spare[:0], nil
		c.mu.Unlock()
		err := c.write(buf)
		c.mu.Lock()
		c.spare = buf[:0]
		if err != nil {
			c.die(err)
			_ = c.tc.Close()
			return
		}
	}
}

// doneAfterGoAway: a GOAWAY went out (or is queued) and no stream is
// left to finish.
func (c *conn) doneAfterGoAway() bool {
	return c.goingAway && (c.open == 0 || c.connFailed) && len(c.ready) == 0
}

// finish runs once the last frame is written: the client gets
// closeGrace to close first.
func (c *conn) finish() {
	c.finished = true
	_ = c.tc.SetReadDeadline(time.Now().Add(closeGrace))
}

// write sends one batch under a write deadline, moved only when an
// eighth of the timeout has passed since it was last set.
func (c *conn) write(b []byte) error {
	if now := time.Now(); now.Sub(c.lastWD) >= c.cfg.WriteTimeout/8 {
		c.lastWD = now
		_ = c.tc.SetWriteDeadline(now.Add(c.cfg.WriteTimeout))
	}
	if c.corker != nil && len(b) > 16<<10 {
		// More than one TLS record: send them together.
		c.corker.Cork()
		defer c.corker.Uncork()
	}
	_, err := c.tc.Write(b)
	return err
}

// corker is a conn that can hold its writes and send them in one.
type corker interface {
	Cork()
	Uncork()
}

// deadlineErr is what a handler's write returns once its write deadline
// passed.
var deadlineErr = fmt.Errorf("h2: write: %w", os.ErrDeadlineExceeded)
