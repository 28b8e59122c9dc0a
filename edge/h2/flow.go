package h2

import (
	"time"

	"golang.org/x/net/http2"
)

// highWater is how many response bytes a stream may have waiting for
// the writer before the handler's Write blocks: enough that the writer
// always has a full batch while the handler makes the next.
const highWater = 128 << 10

// makeReady puts st on the writer's list if it has something to send.
func (c *conn) makeReady(st *stream) {
	if !st.inReady && !st.closed && (st.off < len(st.out) || (st.outEnd && !st.localClosed)) {
		st.inReady = true
		c.ready = append(c.ready, st)
	}
}

type sendResult int

const (
	sendDone    sendResult = iota // nothing left: off the list
	sendMore                      // a frame went out, more to come
	sendBlocked                   // the stream's window is shut: off the list until WINDOW_UPDATE
	sendConnBlocked
)

// schedule frames what the ready streams have, a frame per stream per
// round, until the batch is full or nothing can move.
func (c *conn) schedule() {
	for len(c.ready) > 0 && len(c.wbuf) < maxBatch {
		progress := false
		kept := c.ready[:0]
		n := len(c.ready)
		for i := 0; i < n; i++ {
			st := c.ready[i]
			if len(c.wbuf) >= maxBatch {
				kept = append(kept, st)
				continue
			}
			switch c.sendFrame(st) {
			case sendMore:
				progress = true
				kept = append(kept, st)
			case sendDone:
				progress = true
				st.inReady = false
			case sendBlocked:
				st.inReady = false
				c.armDeadline(st)
			case sendConnBlocked:
				kept = append(kept, st)
				c.armDeadline(st)
			}
		}
		kept = append(kept, c.ready[n:]...) // made ready meanwhile
		clear(c.ready[len(kept):])
		c.ready = kept
		if !progress {
			return
		}
	}
}

// sendFrame frames the next DATA frame of st.
func (c *conn) sendFrame(st *stream) sendResult {
	if st.closed || st.localClosed {
		return sendDone
	}
	pending := len(st.out) - st.off
	if pending == 0 {
		if st.outEnd {
			c.endStream(st)
		}
		return sendDone
	}
	if c.sendWindow <= 0 {
		return sendConnBlocked
	}
	if st.sendWindow <= 0 {
		return sendBlocked
	}
	n := int(min(int64(pending), st.sendWindow, c.sendWindow, int64(c.peerFrame)))
	end := st.outEnd && n == pending && st.trailer == nil
	c.wbuf = appendData(c.wbuf, st.id, st.out[st.off:st.off+n], end)
	st.off += n
	st.sendWindow -= int64(n)
	c.sendWindow -= int64(n)
	if st.off == len(st.out) && !st.borrowed {
		st.out, st.off = st.out[:0], 0
	}
	if pending-n <= highWater/2 {
		st.signal() // a handler waiting for room may go on
	}
	if end {
		c.localDone(st)
		return sendDone
	}
	if n == pending {
		if st.outEnd {
			c.endStream(st)
		}
		return sendDone
	}
	return sendMore
}

// queueBody sends p on st: straight into the batch when nothing of st's
// is waiting and the windows allow, the rest through the ready list.
// end says the response ends with p (no trailers).
func (c *conn) queueBody(st *stream, p []byte, end bool) {
	if st.off == len(st.out) {
		for len(p) > 0 && len(c.wbuf) < maxBatch {
			n := int(min(int64(len(p)), st.sendWindow, c.sendWindow, int64(c.peerFrame)))
			if n <= 0 {
				break
			}
			last := end && n == len(p)
			c.wbuf = appendData(c.wbuf, st.id, p[:n], last)
			st.sendWindow -= int64(n)
			c.sendWindow -= int64(n)
			p = p[n:]
			if last {
				c.localDone(st)
				return
			}
		}
	}
	if len(p) > 0 {
		if st.borrowed {
			st.out = p // framed before the handler's Write returns
		} else {
			st.out = append(st.out, p...)
		}
	}
	if end {
		st.outEnd = true
	}
	c.makeReady(st)
}

// endStream ends a response whose body is all sent: with its trailers,
// or an empty DATA frame.
func (c *conn) endStream(st *stream) {
	if st.trailer != nil {
		c.encodeHeaders(st.id, 0, st.trailer, nil, "", "", true)
	} else {
		c.wbuf = appendData(c.wbuf, st.id, nil, true)
	}
	c.localDone(st)
}

// localDone: END_STREAM is queued. A client still sending its body is
// told to stop (RFC 9113 8.1).
func (c *conn) localDone(st *stream) {
	st.localClosed = true
	if !st.remoteClosed {
		c.wbuf = appendRST(c.wbuf, st.id, http2.ErrCodeNo)
	}
	c.closeStream(st, nil)
}

// armDeadline makes sure a stream stuck on flow control is reset when
// its write deadline passes.
func (c *conn) armDeadline(st *stream) {
	if st.deadline.IsZero() {
		return
	}
	d := time.Until(st.deadline)
	if st.dlTimer == nil {
		st.dlTimer = time.AfterFunc(d, st.onWriteDeadline)
	}
}

func (st *stream) onWriteDeadline() {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.closed {
		return
	}
	if d := time.Until(st.deadline); !st.deadline.IsZero() && d > 0 {
		st.dlTimer.Reset(d)
		return
	}
	if st.deadline.IsZero() {
		st.dlTimer = nil
		return
	}
	st.err = deadlineErr
	c.resetStream(st.id, http2.ErrCodeCancel)
	c.kick()
}
