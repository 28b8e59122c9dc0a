package h2

import (
	"golang.org/x/net/http2"
)

// process handles one frame read from the client, under c.mu. It returns
// a StreamError or ConnectionError for frameError to answer.
func (c *conn) process(f http2.Frame) error {
	if c.hb.active() {
		if cf, ok := f.(*http2.ContinuationFrame); ok {
			return c.onContinuation(cf)
		}
		// The framer already refuses anything else mid-block.
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		if !c.flood.control() {
			return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
		}
		c.wbuf = appendPing(c.wbuf, f.Data, true)
	case *http2.HeadersFrame:
		return c.onHeaders(f)
	case *http2.ContinuationFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.RSTStreamFrame:
		return c.onReset(f)
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
		}
		if !c.flood.control() {
			return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
		}
	case *http2.GoAwayFrame:
		// The client is leaving: finish what is open, then close.
		c.goAway(c.maxID, http2.ErrCodeNo)
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	// Unknown frame types are ignored (RFC 9113 4.1).
	return nil
}

func (c *conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	if !c.flood.control() {
		return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
	}
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingHeaderTableSize:
			c.henc.SetMaxDynamicTableSizeLimit(s.Val)
		case http2.SettingInitialWindowSize:
			return c.setPeerWindow(int64(s.Val))
		case http2.SettingMaxFrameSize:
			c.peerFrame = min(int(s.Val), maxDataPayload)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.wbuf = appendSettingsAck(c.wbuf)
	return nil
}

// setPeerWindow applies a new SETTINGS_INITIAL_WINDOW_SIZE to every
// stream's send window (RFC 9113 6.9.2).
func (c *conn) setPeerWindow(v int64) error {
	delta := v - c.peerWindow
	c.peerWindow = v
	for _, st := range c.streams {
		st.sendWindow += delta
		if st.sendWindow > maxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		if delta > 0 {
			c.makeReady(st)
		}
	}
	return nil
}

func (c *conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		c.sendWindow += inc
		if c.sendWindow > maxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		return nil
	}
	if f.StreamID > c.maxID {
		return http2.ConnectionError(http2.ErrCodeProtocol) // idle stream
	}
	st := c.streams[f.StreamID]
	if st == nil {
		return nil // closed: allowed for a while (RFC 9113 5.1)
	}
	st.sendWindow += inc
	if st.sendWindow > maxWindow {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeFlowControl}
	}
	c.makeReady(st)
	return nil
}

func (c *conn) onReset(f *http2.RSTStreamFrame) error {
	if f.StreamID > c.maxID {
		return http2.ConnectionError(http2.ErrCodeProtocol) // idle stream
	}
	st := c.streams[f.StreamID]
	if st == nil {
		return nil
	}
	if st.handlerRunning && !c.flood.reset() {
		return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
	}
	c.closeStream(st, errStreamReset)
	return nil
}

func (c *conn) onData(f *http2.DataFrame) error {
	id, n := f.StreamID, int(f.Header().Length)
	if id > c.maxID {
		return http2.ConnectionError(http2.ErrCodeProtocol) // idle stream
	}
	if n > c.recvWindow {
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.recvWindow -= n
	st := c.streams[id]
	if st == nil || st.remoteClosed {
		c.giveBackConn(n)
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	}
	if n > st.recvWindow {
		c.giveBackConn(n)
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
	}
	data := f.Data()
	if len(data) == 0 && !f.StreamEnded() && !c.flood.control() {
		return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
	}
	st.recvWindow -= n
	if pad := n - len(data); pad > 0 {
		c.consumed(st, pad) // padding never reaches the handler
	}
	st.received += int64(len(data))
	if st.declared >= 0 && st.received > st.declared {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	st.body.put(data)
	if f.StreamEnded() {
		if st.declared >= 0 && st.received != st.declared {
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
		}
		c.endRemote(st, nil)
	}
	return nil
}
