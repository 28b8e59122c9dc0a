package edgetls_test

import (
	ctls "crypto/tls"
	"errors"
	"fmt"
	"net"
	"testing"

	edgetls "github.com/edgecdn/edge/tls"
)

// testNames is what the apps of the dev CA's tests serve.
func testNames() []string {
	names := []string{"*", "example.test", "a-b.c_d.example.test", "www.example.test", "other.test",
		"xn--bcher-kva.test", "10.1.2.3", "2001:db8::2"}
	for i := range 8 {
		names = append(names, fmt.Sprintf("host%d.example.test", i))
	}
	return names
}

// The attack: a client sends a fresh SNI name on every handshake so that
// the node generates a key and signs a certificate each time. Names no app
// serves fail at once, and nothing is generated or cached.
func TestDevCARefusesNamesNoAppServes(t *testing.T) {
	ca := newCA(t)
	get := ca.TLSConfig(testNames).GetCertificate
	conn := fakeConn{local: &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 8443}}
	for i := range 200 {
		for _, sni := range []string{
			fmt.Sprintf("burn%d.example.test", i),   // a name of the client's choosing
			fmt.Sprintf("10.9.%d.%d", i/250, i%250), // an IP that is not ours
			"example.test.evil", "*", "*.example.test",
		} {
			c, err := get(&ctls.ClientHelloInfo{ServerName: sni, Conn: conn})
			if err == nil {
				t.Fatalf("SNI %q got a certificate for %q", sni, c.Leaf.DNSNames)
			}
			if !errors.Is(err, edgetls.ErrNotServed) && !errors.Is(err, edgetls.ErrInvalidName) {
				t.Fatalf("SNI %q: error %v, want ErrNotServed", sni, err)
			}
		}
	}
	if n := edgetls.Leaves(ca); n != 0 {
		t.Errorf("%d leaves issued for names no app serves", n)
	}
	// What the node does answer for still works: listed names, localhost,
	// the address the client connected to, and no SNI.
	for _, sni := range []string{"example.test", "localhost", "192.0.2.10", "127.0.0.1", "10.1.2.3", ""} {
		if _, err := get(&ctls.ClientHelloInfo{ServerName: sni, Conn: conn}); err != nil {
			t.Errorf("SNI %q: %v", sni, err)
		}
	}
	// A name dropped from the apps stops being served at once, cached or not.
	served := []string{"gone.example.test"}
	get = ca.TLSConfig(func() []string { return served }).GetCertificate
	if _, err := get(&ctls.ClientHelloInfo{ServerName: "gone.example.test"}); err != nil {
		t.Fatal(err)
	}
	served = nil
	if _, err := get(&ctls.ClientHelloInfo{ServerName: "gone.example.test"}); !errors.Is(err, edgetls.ErrNotServed) {
		t.Errorf("removed name: %v, want ErrNotServed", err)
	}
}

// BenchmarkSNI compares what a handshake for a new name costs the node:
// refused because no app serves it (every name an attacker invents) and
// signed because an app does (what the dev CA did for any name before).
func BenchmarkSNI(b *testing.B) {
	ca, err := edgetls.LoadOrCreateDevCA(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("unserved-refused", func(b *testing.B) {
		get := ca.TLSConfig(testNames).GetCertificate
		for i := 0; b.Loop(); i++ {
			if _, err := get(&ctls.ClientHelloInfo{ServerName: fmt.Sprintf("burn%d.example.test", i)}); err == nil {
				b.Fatal("issued")
			}
		}
	})
	b.Run("served-signed", func(b *testing.B) {
		var current string
		get := ca.TLSConfig(func() []string { return []string{current} }).GetCertificate
		for i := 0; b.Loop(); i++ {
			current = fmt.Sprintf("new%d.example.test", i)
			if _, err := get(&ctls.ClientHelloInfo{ServerName: current}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
