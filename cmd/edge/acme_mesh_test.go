package main

import (
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	edgetls "github.com/edgecdn/edge/tls"
	"github.com/edgecdn/edge/tls/acmetest"
)

// commonPort draws a port below the ephemeral range that is free on every
// one of ips, on TCP and (with udp) UDP: the CA validates every node on
// one HTTP and one HTTPS port, whatever address DNS gives it.
func commonPort(t *testing.T, udp bool, ips ...string) int {
	t.Helper()
	for range 50 {
		port := gossipPortMin + rand.IntN(gossipPortMax-gossipPortMin)
		free := true
		for _, ip := range ips {
			addr := net.JoinHostPort(ip, strconv.Itoa(port))
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				free = false
				break
			}
			ln.Close()
			if udp {
				pc, err := net.ListenPacket("udp", addr)
				if err != nil {
					free = false
					break
				}
				pc.Close()
			}
		}
		if free {
			return port
		}
	}
	t.Fatal("no port free on every address")
	return 0
}

// resolver is the DNS the CA validates names with: each name points at
// one node's address, changed as the test goes.
type resolver struct {
	mu sync.Mutex
	ip map[string]string
}

func (r *resolver) set(name, ip string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ip[name] = ip
}

func (r *resolver) resolve(name string) net.IP {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ip, ok := r.ip[name]; ok {
		return net.ParseIP(ip)
	}
	return net.IPv4(127, 0, 0, 1) // nothing listens there on the test's ports
}

// servedEverywhere waits until every node serves name over h2 with a
// certificate roots trust, then checks h2 and h3 on each.
func servedEverywhere(t *testing.T, name, page string, roots *acmetest.CA, nodes ...*meshNode) {
	t.Helper()
	for _, n := range nodes {
		waitHTTPS(t, n.process, name, roots.Issuing)
	}
	for _, n := range nodes {
		for _, h3 := range []bool{false, true} {
			body, proto, err := httpsGet(n.process, name, roots.Issuing, h3)
			if err != nil || body != page {
				t.Errorf("%s: https://%s/ h3=%v: %q over %s, %v", n.name, name, h3, body, proto, err)
			}
		}
	}
}

// byName finds a node by its member name.
func byName(nodes []*meshNode, name string) *meshNode {
	for _, n := range nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// names lists the nodes' member names.
func names(nodes []*meshNode) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.name)
	}
	return out
}

// notOrderer is a node of nodes that does not order name's certificate.
func notOrderer(name string, nodes []*meshNode) *meshNode {
	orderer := edgetls.Orderer(name, names(nodes))
	for _, n := range nodes {
		if n.name != orderer {
			return n
		}
	}
	return nil
}

// TestMeshCertificates: three node processes on 127.0.0.2-4 in a mesh with
// a real ACME CA validating every challenge. Each hostname deployed to the
// running mesh costs exactly one order for the whole mesh, though every
// node serves it, over h2 and h3 with the CA's chain; the CA's DNS points
// the name at a node that did NOT place the order, which answers the
// challenge from the orderer's data. Then the orderer of a new name is
// killed while its order is at the CA: the name still gets its
// certificate, ordered by the next member, and the survivors serve it.
func TestMeshCertificates(t *testing.T) {
	if testing.Short() {
		t.Skip("three node processes and an ACME CA: not with -short")
	}
	edgeBinary(t)
	ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	for _, ip := range ips {
		needLoopback(t, ip)
	}
	httpPort, httpsPort := commonPort(t, false, ips...), commonPort(t, true, ips...)
	dns := &resolver{ip: map[string]string{}}
	ca := acmetest.Start(t, acmetest.Options{Validate: true, HTTPPort: httpPort, TLSPort: httpsPort, Resolve: dns.resolve})

	k := newMeshKit(t)
	k.baseHost = "base.localhost" // no certificate to order at start
	var nodes []*meshNode
	join := ""
	for i, name := range []string{"a", "b", "c"} {
		ip := ips[i]
		n := k.start(t, name, ip, join, "",
			"--http", net.JoinHostPort(ip, strconv.Itoa(httpPort)), "--https", net.JoinHostPort(ip, strconv.Itoa(httpsPort)),
			"--acme-ca", ca.URL, "--acme-ca-root", ca.RootsFile, "--acme-email", "ops@example.com")
		nodes = append(nodes, n)
		join = nodes[0].gossip
	}
	waitMembers(t, nodes, 3)

	// Deploy new hostnames to the running mesh, one at a time: each is
	// served by all three nodes after one order.
	var took []time.Duration
	for i, host := range []string{"shop.example.com", "news.example.com", "blog.example.com"} {
		answering := notOrderer(host, nodes)
		dns.set(host, ips[slices.Index(nodes, answering)])
		orders := ca.Orders()
		start := time.Now()
		page := host + " page"
		k.deploy(t, nodes[i%3], staticApp(t, strings.Split(host, ".")[0], page, host), "--wait", "0")
		servedEverywhere(t, host, page, ca, nodes...)
		took = append(took, time.Since(start))
		if got := ca.Orders() - orders; got != 1 {
			t.Errorf("%s: %d orders for the mesh, want 1", host, got)
		}
		orderer := byName(nodes, edgetls.Orderer(host, names(nodes)))
		orderer.waitLogLine(t, "ordering the certificate for the mesh", host)
		for _, n := range nodes {
			if n != orderer {
				n.waitLogLine(t, "certificate copied from a member", host)
			}
		}
		// The CA's only way in was the node that did not order.
		answering.waitLogLine(t, "served key authentication", host, "distributed=true")
	}
	t.Logf("deploy to HTTPS served on all 3 nodes: %v (median %v)", took, median(took))

	// edge certs --members: every member's certificates, from any node.
	out, code := edgeCLI(t, "certs", "--members", "--node", nodes[1].banner.admin, "--data", nodes[1].data)
	for _, want := range []string{"member a:", "member b:", "member c:", "Pebble Intermediate"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("edge certs --members (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	if got := strings.Count(out, "shop.example.com  acme"); got != 3 {
		t.Errorf("shop.example.com has an ACME certificate on %d members, want 3:\n%s", got, out)
	}

	// The orderer dies while its order is at the CA.
	host := "mail.example.com"
	first := byName(nodes, edgetls.Orderer(host, names(nodes)))
	var survivors []*meshNode
	for _, n := range nodes {
		if n != first {
			survivors = append(survivors, n)
		}
	}
	dns.set(host, ips[slices.Index(nodes, notOrderer(host, survivors))])
	held, release := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	ca.OnOrder(func() {
		once.Do(func() {
			held <- struct{}{}
			<-release
		})
	})
	orders := ca.Orders()
	page := "mail page"
	k.deploy(t, survivors[0], staticApp(t, "mail", page, host), "--wait", "0")
	select {
	case <-held:
	case <-time.After(60 * time.Second):
		t.Fatalf("no order for %s reached the CA\n%s", host, first.stderr())
	}
	first.kill()
	close(release)
	servedEverywhere(t, host, page, ca, survivors...)
	if got := ca.Orders() - orders; got != 2 {
		t.Errorf("%s: %d orders, want 2 (the dead orderer's and its successor's)", host, got)
	}
}
