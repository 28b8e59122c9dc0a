package httpcache

import (
	"net/http"
	"testing"
	"time"
)

// FuzzAppendKey: AppendKey, which skips net.SplitHostPort and
// strings.ToLower for plain hosts, names exactly the entry Key names for
// any Host a client may send (ports, IPv6 literals, trailing dots, upper
// case, non-ASCII, several colons).
func FuzzAppendKey(f *testing.F) {
	for _, s := range [][2]string{
		{"Example.COM", "/a?b=c"}, {"example.com.:8080", "/"}, {"[::1]:443", "/x"}, {"::1", "/"},
		{"a:b:c", "/"}, {"ÉXAMPLE.com", "/"}, {"host:", "/p"}, {":80", "/"}, {"", "*"}, {"[v]", "/"}, {"a.:", "/"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, host, uri string) {
		if got, want := string(AppendKey([]byte("prefix"), host, uri)), "prefix"+Key(host, uri); got != want {
			t.Fatalf("AppendKey(%q, %q) = %q, Key = %q", host, uri, got, want)
		}
	})
}

// TestLookupBodyAllocs: a hit's key and lookup allocate nothing, which is
// what keeps a hit's cost at a static file's (issue 15's benchmark).
func TestLookupBodyAllocs(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	resp := &Response{Status: 200, Header: http.Header{"Cache-Control": {"max-age=60"}}, Body: []byte("hello"), Requested: now, Received: now}
	c.Put(NewEntry(Key("example.com", "/obj"), http.Header{}, resp), c.Epoch())
	req := http.Header{"Accept": {"*/*"}}
	var buf [128]byte
	var e *Entry
	var body []byte
	allocs := testing.AllocsPerRun(100, func() {
		e, body = c.LookupBody(AppendKey(buf[:0], "Example.com:8080", "/obj"), req)
	})
	if e == nil || string(body) != "hello" {
		t.Fatalf("LookupBody = %v, %q", e, body)
	}
	if allocs != 0 {
		t.Errorf("a hit's key and lookup allocate %v times, want 0", allocs)
	}
}
