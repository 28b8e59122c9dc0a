package gossip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip/state"
	"golang.org/x/sync/errgroup"
)

// applyWorkers is how many apps are fetched and applied at once.
const applyWorkers = 4

// applyLoop applies the winning state of each app that was kicked: fetch
// what is missing, then hand it to the Applier. applyWorkers loops run,
// so one app's slow fetch does not hold the others.
func (m *Mesh) applyLoop() {
	defer m.wg.Done()
	for {
		app, ok := m.applyq.next()
		if !ok {
			return
		}
		m.apply(app)
		m.applyq.done(app)
	}
}

func (m *Mesh) apply(app string) {
	rec := m.Best(app)
	if rec == nil {
		return
	}
	if cur, err := m.ledger.State(app); err == nil && !cur.Stamp.Less(rec.Stamp) {
		return
	}
	if !rec.Removed {
		if err := m.fetchMissing(rec); err != nil {
			m.log.Warn("blobs not fetched, retrying", "app", app, "version", rec.Version, "err", err)
			m.retry(app, time.Second)
			return
		}
	}
	m.passOn(rec) // the blobs are here: this region can fetch them from us
	err := m.cfg.Applier.ApplyRemote(rec)
	switch {
	case errors.Is(err, state.ErrStale):
	case errors.Is(err, cache.ErrMissingBlobs):
		m.retry(app, 500*time.Millisecond) // a blob pruned meanwhile: fetch again
	case err != nil:
		m.log.Error("state not applied", "app", app, "version", rec.Version, "origin", rec.Stamp.Node, "err", err)
	}
}

// retry kicks app again after d, unless the mesh stopped.
func (m *Mesh) retry(app string, d time.Duration) {
	time.AfterFunc(d, func() {
		select {
		case <-m.stop:
		default:
			m.kick(app)
		}
	})
}

// fetchMissing fetches, four at a time, every blob of rec this node lacks.
func (m *Mesh) fetchMissing(rec Record) error {
	missing := m.cfg.Cache.Missing(rec.Manifest.Digests())
	if len(missing) > 0 {
		missing = m.storeInline(rec, missing) // what the state's message carried
	}
	if len(missing) == 0 {
		return nil
	}
	sizes := digestSizes(rec.Manifest)
	peers := m.peersFor(rec.Stamp.Node, m.holder(rec))
	if len(peers) == 0 {
		return errors.New("no peer to fetch from")
	}
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // Stop ends the fetches in flight
		select {
		case <-m.stop:
			cancel()
		case <-base.Done():
		}
	}()
	g, ctx := errgroup.WithContext(base)
	g.SetLimit(4)
	for _, d := range missing {
		g.Go(func() error { return m.fetchBlob(ctx, peers, d, sizes[d]) })
	}
	return g.Wait()
}

// fetchBlob tries each peer in turn until one serves d whole and correct.
func (m *Mesh) fetchBlob(ctx context.Context, peers []peerInfo, d cache.Digest, size int64) error {
	var errs []error
	for _, p := range peers {
		err := m.fetchFrom(ctx, p, d, size)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
	}
	return fmt.Errorf("blob %s: %w", d, errors.Join(errs...))
}

// minFetchRate is the slowest transfer a fetch waits for: a blob of n
// bytes gets FetchTimeout plus n/minFetchRate seconds.
const minFetchRate = 1 << 20

// fetchTimeout bounds one fetch of a blob of size bytes from one peer.
func (m *Mesh) fetchTimeout(size int64) time.Duration {
	return m.cfg.FetchTimeout + time.Duration(size/minFetchRate)*time.Second
}

// fetchFrom fetches d from one peer within fetchTimeout, reading at most
// the manifest's size plus one byte: a peer that sends more (endless
// bytes for the empty file's digest) fails the digest check at once.
func (m *Mesh) fetchFrom(ctx context.Context, p peerInfo, d cache.Digest, size int64) error {
	ctx, cancel := context.WithTimeout(ctx, m.fetchTimeout(size))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+p.addr+"/v1/blobs/"+d.String(), nil)
	if err != nil {
		return err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("peer answered %s", resp.Status)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != size {
		return fmt.Errorf("peer sends %d bytes, the manifest says %d", resp.ContentLength, size)
	}
	n, err := m.cfg.Cache.PutBlobVerified(io.LimitReader(resp.Body, size+1), d, size+1)
	if err != nil {
		return err
	}
	m.log.Debug("blob fetched", "digest", d, "bytes", n, "from", p.name)
	return nil
}

// peerDialTimeout bounds opening a connection to a peer endpoint.
const peerDialTimeout = 5 * time.Second

// newPeerClient is the HTTP client a mesh talks to its peers with, over
// the peer channel's TLS. Each Mesh has its own, so that meshes in one
// process (tests, benchmarks) share no connections, and Stop closes its
// idle ones.
func newPeerClient(pt *peerTLS, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	if dial == nil {
		// a member that is gone does not hold a fetch for the whole
		// FetchTimeout: the next peer is tried
		dial = (&net.Dialer{Timeout: peerDialTimeout}).DialContext
	}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: pt.client(), MaxIdleConnsPerHost: 8, IdleConnTimeout: 30 * time.Second, DialContext: dial,
	}}
}

// peerInfo is a member's peer endpoint.
type peerInfo struct{ name, addr, region string }

// peersFor lists the other members with a peer endpoint: the holder named
// by the fan-out first (it passed the state on once it had the blobs),
// then the origin (it surely has them), then those of this node's region,
// then those of the origin's region (they had the state first), then the
// others; each group shuffled to spread the load. A state learned from a
// push/pull names no holder, and after a partition heals nobody in this
// node's region (or the others) may have it yet: each member tried that
// lacks a blob costs a handshake and a round trip, and walking a
// 200-node mesh's lacking members one by one took tens of seconds. The
// holder and the origin are listed even if memberlist holds them dead,
// at the endpoint they last advertised: after a long partition each side
// holds the other's members dead for a while after the heal, and the
// state that crossed it can only be fetched from them.
func (m *Mesh) peersFor(origin, holder string) []peerInfo {
	var ps []peerInfo
	listed := map[string]bool{}
	for _, n := range m.liveNodes() {
		meta := decodeMeta(n.Meta)
		if n.Name == m.cfg.Name || meta.Peer == "" {
			continue
		}
		listed[n.Name] = true
		ps = append(ps, peerInfo{name: n.Name, addr: meta.Peer, region: meta.Region})
	}
	originRegion := ""
	for _, name := range []string{holder, origin} {
		if name == "" || name == m.cfg.Name || listed[name] {
			continue
		}
		if p, ok := m.lastPeer(name); ok {
			listed[name] = true
			ps = append(ps, p)
		}
	}
	if p, ok := m.lastPeer(origin); ok {
		originRegion = p.region
	}
	rand.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
	rank := func(p peerInfo) int {
		switch {
		case p.name == holder:
			return 0
		case p.name == origin:
			return 1
		case p.region == m.cfg.Region:
			return 2
		case p.region == originRegion:
			return 3
		}
		return 4
	}
	sort.SliceStable(ps, func(i, j int) bool { return rank(ps[i]) < rank(ps[j]) })
	return ps
}
