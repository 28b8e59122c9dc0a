package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// progress draws an upload bar on a terminal; elsewhere it stays quiet and
// the caller prints one summary line.
type progress struct {
	w                 io.Writer
	tty               bool
	files, totalFiles int
	bytes, totalBytes int64
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	tty := false
	if ok {
		if fi, err := f.Stat(); err == nil {
			tty = fi.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progress{w: w, tty: tty}
}

func (p *progress) start(digests []string, b *bundle) {
	p.files, p.bytes, p.totalFiles, p.totalBytes = 0, 0, len(digests), 0
	for _, d := range digests {
		p.totalBytes += b.manifest.Files[b.source[d]].Size
	}
	p.draw()
}

func (p *progress) fileDone() {
	p.files++
	p.draw()
}

func (p *progress) addBytes(n int) {
	p.bytes += int64(n)
	p.draw()
}

// countingReader reports upload progress as the body is read.
type countingReader struct {
	r    io.Reader
	prog *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.prog.addBytes(n)
	return n, err
}

func (p *progress) draw() {
	if !p.tty || p.totalFiles == 0 {
		return
	}
	const width = 30
	frac := 1.0
	if p.totalBytes > 0 {
		frac = float64(p.bytes) / float64(p.totalBytes)
	}
	n := int(frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d files, %s/%s", strings.Repeat("=", n), strings.Repeat(" ", width-n),
		p.files, p.totalFiles, size(p.bytes), size(p.totalBytes))
}

func (p *progress) done() {
	if p.tty && p.totalFiles > 0 {
		fmt.Fprintln(p.w)
	}
}
