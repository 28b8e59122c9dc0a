package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The media rows (issue 17): the media example's 2 MiB segments over
// HTTP/2 and HTTP/3, whole and by Range, from the node (every request
// through the pre-initialised edge ABI guest, which checks the token and
// hands the file to the node with X-Edge-Static) against nginx and Caddy
// serving the same file with no check, and against the example's own Go
// code run natively in net/http (token check, http.ServeFile); and the
// signed master playlist, written by the guest against the same code
// natively. All in one run, servers interleaved, as the static rows.
var (
	mediaRows = flag.Bool("media", true, "run the media rows (segments, Range, signed playlist) after the static ones")
	onlyMedia = flag.Bool("only-media", false, "run the media rows alone")
)

// The media tests, in the order of the table.
const (
	mediaWhole    = "media segment 2 MiB"
	mediaRanged   = "media segment, Range 1 MiB"
	mediaPlaylist = "media signed master playlist"
)

var mediaTests = []string{mediaWhole, mediaRanged, mediaPlaylist}

// mediaConns is how many connections load the segments (h2; the h3
// generator has its own h3Conns).
const mediaConns = 16

// mediaServers are the media rows' servers; the node is edgeName, so the
// ratios edge/peer read as the static rows' do.
func mediaServers(mf *mediaFixture, t tools) []server {
	signed, plain, master := mediaPaths()
	segments := func(path string, protos ...string) []row {
		var rs []row
		for _, p := range protos {
			rs = append(rs, row{mediaWhole, p, path}, row{mediaRanged, p, path})
		}
		return rs
	}
	playlist := []row{{mediaPlaylist, "h1", master}, {mediaPlaylist, "h2", master}}
	return []server{
		{name: edgeName, start: mf.startEdgeLoaded, rows: append(segments(signed, "h2", "h3"), playlist...)},
		{name: "go net/http + media backend", start: mf.startMediaPeer, rows: append(segments(signed, "h2", "h3"), playlist...)},
		{name: "nginx", start: func(p int) (*exec.Cmd, error) { return mf.startNginx(t.nginx, p) }, rows: segments(plain, "h2")},
		{name: "caddy", start: func(p int) (*exec.Cmd, error) { return mf.startCaddy(t.caddy, p) }, rows: segments(plain, "h2", "h3")},
	}
}

// startEdgeLoaded starts the node and waits, longer than startAll does,
// until it serves: a cold start compiles and pre-initialises the 4 MiB Go
// guest, which takes minutes on a loaded machine.
func (mf *mediaFixture) startEdgeLoaded(port int) (*exec.Cmd, error) {
	cmd, err := mf.startEdge(port)
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/", port)
	for range 10 { // waitReady gives up after 30 s
		if err = waitReady(url, cmd); err == nil || cmd.ProcessState != nil {
			break
		}
	}
	if err != nil {
		stop(cmd) // startAll keeps only the servers that started
		return nil, err
	}
	return cmd, nil
}

// startMediaPeer runs benchpeer -media: the example's backend natively.
func (mf *mediaFixture) startMediaPeer(port int) (*exec.Cmd, error) {
	return launch(mf.work+"/mediapeer.log", mediaEnv(), mf.peerBin, "-media",
		"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-dir", mf.appDir, "-cert", mf.certFile, "-key", mf.keyFile)
}

// runMedia measures the media rows and prints their table.
func runMedia(fx *fixture, root string, t tools, d time.Duration, rounds int) error {
	mf, err := newMediaFixture(fx, root)
	if err != nil {
		return err
	}
	m := measurement{tests: mediaTests, rounds: rounds, d: d, load: func(l *live, r row) (result, error) {
		return mediaLoad(t, r, l.base+r.path, d)
	}}
	started := time.Now()
	rows, err := runTable(mediaServers(mf, t), m)
	if err != nil {
		return err
	}
	printMediaTable(os.Stdout, rows, d, rounds, time.Since(started))
	return failedRow(rows)
}

// mediaLoad runs one media row: the Range rows send the same 1 MiB range
// of the segment on every request (206 answers).
//
// Segments are loaded as players fetch them, one at a time on each of
// mediaConns connections (h2load's 10 streams on 32 connections would
// have 320 segments of 2 MiB in flight, and few complete within a short
// row), and for at least 3 s.
func mediaLoad(t tools, r row, url string, d time.Duration) (result, error) {
	if r.test == mediaPlaylist {
		return load(t, r.proto, url, d)
	}
	d = max(d, 3*time.Second)
	var hdr []string
	if r.test == mediaRanged {
		hdr = []string{"Range", mediaRange}
	}
	var res result
	var err error
	switch r.proto {
	case "h2":
		args := []string{"-c", strconv.Itoa(mediaConns), "-m", "1"}
		if hdr != nil {
			args = append(args, "-H", "range: "+mediaRange)
		}
		res, err = h2load(t.h2load, url, d, args...)
	case "h3":
		res, err = h3load(url, d, hdr...)
	default:
		err = fmt.Errorf("no Range load for %s", r.proto)
	}
	if err == nil && res.requests == 0 {
		err = fmt.Errorf("no request succeeded")
	}
	return res, err
}

// printMediaTable writes the media rows as a markdown table: segments
// compared by MB/s, the playlist by req/s, each peer row with the ratio
// edge/peer from the same run.
func printMediaTable(w io.Writer, rows []result, d time.Duration, rounds int, took time.Duration) {
	fmt.Fprintf(w, "\nMedia rows (issue 17) — %s; each row the median of %d runs of %s, servers interleaved; load average %s; took %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), rounds, d, loadAvg(), took.Round(time.Second))
	writeRows(w, mediaTests, rows, func(test string) string { return strings.TrimPrefix(test, "media ") })
	fmt.Fprintln(w, "\nSegments: the node and the Go peer check the viewer's HMAC token on every request (the node in the wasm guest, then X-Edge-Static); nginx and Caddy serve the file unchecked. Segments: h2load -c 16 -m 1, h3 32 connections, one request at a time on each. Range: bytes=524288-1572863 (206). Playlist: the master playlist signed per request, the guest against the same Go code natively. Playlist h1: bombardier -c 64; h2: h2load -c 32 -m 10.")
}
