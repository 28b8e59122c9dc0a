package modules

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
)

// guestIO connects a guest's stdin, stdout and stderr to in-memory buffers
// through pipes. wasmtime-go can only point WASI stdio at paths, so each
// pipe end the guest uses is handed over as /proc/self/fd/N: Wasmtime opens
// its own descriptor of the same pipe, and no file ever touches a disk.
//
// Pipes give two properties files would not: output is capped while the
// guest runs (past the cap the read end is closed and the guest's next write
// fails with EPIPE instead of filling memory or a disk), and stdin is
// streamed, so nothing waits for a whole body to be copied twice.
type guestIO struct {
	stdin          *os.File // our write end; nil when there is no body
	stdout, stderr *capture
	feed           sync.WaitGroup
}

// capture drains one pipe into a buffer of at most max bytes.
type capture struct {
	r        *os.File
	max      int64
	dropTail bool // past max: keep draining and drop (stderr) or close (stdout)
	buf      bytes.Buffer
	over     bool
	done     chan struct{}
}

// procPath names an open descriptor so Wasmtime can open its own copy.
// SyscallConn is used instead of Fd so the pipe stays non-blocking on our side.
func procPath(f *os.File) (string, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return "", err
	}
	var path string
	err = rc.Control(func(fd uintptr) { path = fmt.Sprintf("/proc/self/fd/%d", fd) })
	return path, err
}

// newCapture makes a pipe, returns the path of its write end for Wasmtime,
// and starts draining its read end.
func newCapture(max int64, dropTail bool) (*capture, *os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	c := &capture{r: r, max: max, dropTail: dropTail, done: make(chan struct{})}
	go c.drain()
	return c, w, nil
}

func (c *capture) drain() {
	defer close(c.done)
	defer c.r.Close()
	_, err := io.Copy(&c.buf, io.LimitReader(c.r, c.max))
	if err != nil || int64(c.buf.Len()) < c.max {
		return
	}
	// At the cap: one more byte means the guest wrote too much.
	var one [1]byte
	if n, _ := c.r.Read(one[:]); n == 0 {
		return
	}
	c.over = true
	if c.dropTail {
		_, _ = io.Copy(io.Discard, c.r)
	}
}

// wait blocks until the guest's copy of the write end is closed (its store
// was dropped) or the cap was hit.
func (c *capture) wait() { <-c.done }

// startFeed writes body to the guest's stdin in the background. When the
// guest stops reading, close unblocks the writer.
func (g *guestIO) startFeed(w *os.File, body []byte) {
	g.stdin = w
	g.feed.Add(1)
	go func() {
		defer g.feed.Done()
		_, _ = w.Write(body) // EPIPE when the guest exits without reading: fine
		_ = w.Close()
	}()
}

// finish releases our pipe ends after the guest's store has been dropped and
// waits for every background copy to end.
func (g *guestIO) finish() {
	if g.stdin != nil {
		_ = g.stdin.Close()
	}
	g.feed.Wait()
	g.stdout.wait()
	g.stderr.wait()
}
