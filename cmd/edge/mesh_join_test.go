package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/ops/api"
)

// TestMeshStartedTogether: three node processes started in the same
// second, the seed last: b and c try to join a before a's gossip listener
// is up (the "joined 4.9 s later, on the next retry"). Each logs
// every failed attempt once with its reason, retries from 100 ms doubling,
// and joins on the first attempt after a listens; all three are alive in
// `edge members` on every node. The time from a's start to the last join
// is measured from the logs and reported, not asserted (a loaded machine
// stretches it): the retry schedule in the log is what must hold.
func TestMeshStartedTogether(t *testing.T) {
	k := newMeshKit(t)
	var a, b, c *meshNode
	var seedStart time.Time
	for try := 1; ; try++ {
		a = &meshNode{name: "a", data: filepath.Join(k.dir, fmt.Sprintf("data-a%d", try))}
		a.draw("127.0.0.2", k.baseApp(t, "a"), "", k.gossipKey, k.ciPub, nil)
		b = spawnMesh(t, k, "b", "127.0.0.3", a.gossip, try)
		c = spawnMesh(t, k, "c", "127.0.0.4", a.gossip, try)
		for _, n := range []*meshNode{b, c} {
			n.waitLogLine(t, "join failed", "attempt=1", "retry_in=100ms", "err=")
		}
		seedStart = time.Now()
		p, err := tryStartNode(t, a.data, a.args...)
		if err == nil {
			a.process = p
			break
		}
		b.kill()
		c.kill()
		if !strings.Contains(p.stderr(), "address already in use") || try == 5 {
			t.Fatalf("seed: %v\n%s", err, p.stderr())
		}
	}
	var joinedAt time.Time
	for _, n := range []*meshNode{b, c} {
		n.waitLogLine(t, "msg=joined", "attempt=")
		at := checkJoinSchedule(t, n)
		if at.After(joinedAt) {
			joinedAt = at
		}
	}
	a.waitLog(t, "apps loaded")
	loaded := seedStart
	for _, line := range strings.Split(a.stderr(), "\n") {
		if strings.Contains(line, "apps loaded") {
			loaded, _ = time.Parse(time.RFC3339Nano, field(logTime, line))
		}
	}
	t.Logf("b and c joined %v after the seed's process started, %v after it loaded its apps (then it joins the mesh)",
		joinedAt.Sub(seedStart).Round(time.Millisecond), joinedAt.Sub(loaded).Round(time.Millisecond))
	for _, n := range []*meshNode{a, b, c} {
		waitAlive(t, n, 3)
	}
}

// spawnMesh starts mesh node name without waiting for its gossip to join.
func spawnMesh(t *testing.T, k meshKit, name, ip, join string, try int) *meshNode {
	t.Helper()
	needLoopback(t, ip)
	n := &meshNode{name: name, data: filepath.Join(k.dir, fmt.Sprintf("data-%s%d", name, try))}
	n.draw(ip, k.baseApp(t, name), join, k.gossipKey, k.ciPub, nil)
	n.process = startNode(t, n.data, n.args...)
	return n
}

var (
	logTime  = regexp.MustCompile(`^time=(\S+)`)
	attemptN = regexp.MustCompile(`\battempt=(\d+)`)
	retryIn  = regexp.MustCompile(`\bretry_in=(\S+)`)
)

// checkJoinSchedule checks n's log of its first join: attempts 1..k
// failed, each logged once with its reason and a retry delay of 100 ms
// doubling (up to the 5 s rejoin interval), then attempt k+1 joined. It
// returns when n joined.
func checkJoinSchedule(t *testing.T, n *meshNode) time.Time {
	t.Helper()
	want, wait := 1, 100*time.Millisecond
	for _, line := range strings.Split(n.stderr(), "\n") {
		switch {
		case strings.Contains(line, `msg="join failed, will retry"`):
			got, _ := strconv.Atoi(field(attemptN, line))
			d, err := time.ParseDuration(field(retryIn, line))
			if got != want || err != nil || d != wait || !strings.Contains(line, "err=") {
				t.Fatalf("%s: failed join attempt %d logged as %q, want attempt=%d retry_in=%v err=…", n.name, want, line, want, wait)
			}
			want, wait = want+1, min(2*wait, 5*time.Second)
		case strings.Contains(line, "msg=joined"):
			if got, _ := strconv.Atoi(field(attemptN, line)); got != want {
				t.Fatalf("%s joined at attempt %d, want %d: %q", n.name, got, want, line)
			}
			at, err := time.Parse(time.RFC3339Nano, field(logTime, line))
			if err != nil {
				t.Fatalf("%s: %q: %v", n.name, line, err)
			}
			t.Logf("%s joined at attempt %d", n.name, want)
			return at
		}
	}
	t.Fatalf("%s never joined:\n%s", n.name, n.stderr())
	return time.Time{}
}

func field(re *regexp.Regexp, line string) string {
	if m := re.FindStringSubmatch(line); m != nil {
		return m[1]
	}
	return ""
}

// waitAlive waits until n lists want members, every one alive.
func waitAlive(t *testing.T, n *meshNode, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, code := edgeCLI(t, "members", "--json", "--node", n.banner.admin, "--data", n.data)
		var mb api.Members
		alive := 0
		if code == 0 && json.Unmarshal([]byte(out), &mb) == nil {
			for _, m := range mb.Members {
				if m.State == "alive" {
					alive++
				}
			}
		}
		if alive == want && len(mb.Members) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s lists %d alive of %d members, want %d alive:\n%s", n.name, alive, len(mb.Members), want, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
