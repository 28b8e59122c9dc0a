package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/edgecdn/edge/ops/client"
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

func (p *progress) Start(files int, bytes int64) {
	p.files, p.bytes, p.totalFiles, p.totalBytes = 0, 0, files, bytes
	p.draw()
}

func (p *progress) FileDone() {
	p.files++
	p.draw()
}

func (p *progress) Add(n int) {
	p.bytes += int64(n)
	p.draw()
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

// Done ends the bar and, on a terminal, says what the silence until the
// node answers is: it compiles the version's new modules before it
// activates it, tens of seconds for a JavaScript route's first load.
func (p *progress) Done() {
	if !p.tty {
		return
	}
	if p.totalFiles > 0 {
		fmt.Fprintln(p.w)
	}
	fmt.Fprintln(p.w, "activating: the node compiles new modules first (a JavaScript route's first load takes 20 s or more)")
}

var _ client.Progress = (*progress)(nil)
