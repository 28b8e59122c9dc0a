package edge_test

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestCacheHitFields: a hit answered from the fields built once per entry
// carries the origin's fields, one Via hop more (however many hits went
// before), X-Cache, a Cache-Status whose ttl is the lifetime less Age,
// Content-Length and the body byte-exact, over every protocol, for GET
// and HEAD; a ranged hit still gets its 206.
func TestCacheHitFields(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 256)
	o := startOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Via", "1.1 origin")
		w.Header().Set("X-Cache", "MISS from origin")
		w.Header().Set("Cache-Status", "origin; fwd=miss")
		_, _ = w.Write(body)
	})
	clk := &clock{}
	n, _ := cachedNode(t, o, "", clk)
	cls := n.clients(t)
	if resp, _ := get(t, cls["plain"].c, cls["plain"].base+"/obj"); resp.Header.Get("X-Cache") != "MISS" {
		t.Fatalf("first request: X-Cache %q", resp.Header.Get("X-Cache"))
	}
	clk.Advance(30 * time.Second)
	for round := range 3 {
		for _, proto := range []string{"HTTP/1.1", "HTTP/2.0", "HTTP/3.0", "plain"} {
			for _, method := range []string{"GET", "HEAD"} {
				cl := cls[proto]
				req, _ := http.NewRequest(method, cl.base+"/obj", nil)
				resp, err := cl.c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				where := proto + " " + method + " round " + strconv.Itoa(round)
				checkHit(t, where, resp, got, method, body)
			}
		}
	}
	req, _ := http.NewRequest("GET", cls["HTTP/1.1"].base+"/obj", nil)
	req.Header.Set("Range", "bytes=10-19")
	resp, err := cls["HTTP/1.1"].c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, body[10:20]) {
		t.Fatalf("ranged hit: %s %q", resp.Status, got)
	}
	if h := o.hits.Load(); h != 1 {
		t.Errorf("origin saw %d requests, want 1", h)
	}
}

func checkHit(t *testing.T, where string, resp *http.Response, got []byte, method string, body []byte) {
	t.Helper()
	h := resp.Header
	if resp.StatusCode != 200 {
		t.Fatalf("%s: status %s", where, resp.Status)
	}
	if want := []string{"1.1 origin", "1.1 edge"}; !slices.Equal(h.Values("Via"), want) {
		t.Fatalf("%s: Via %q, want %q", where, h.Values("Via"), want)
	}
	if v := h.Values("X-Cache"); !slices.Equal(v, []string{"HIT"}) {
		t.Fatalf("%s: X-Cache %q", where, v)
	}
	age, err := strconv.Atoi(h.Get("Age"))
	if err != nil || age < 30 || age >= 60 {
		t.Fatalf("%s: Age %q", where, h.Get("Age"))
	}
	if want := []string{"edge; hit; ttl=" + strconv.Itoa(60-age)}; !slices.Equal(h.Values("Cache-Status"), want) {
		t.Fatalf("%s: Cache-Status %q, want %q", where, h.Values("Cache-Status"), want)
	}
	if h.Get("Content-Type") != "application/octet-stream" || h.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("%s: Content-Type %q, Accept-Ranges %q", where, h.Get("Content-Type"), h.Get("Accept-Ranges"))
	}
	if resp.ContentLength != int64(len(body)) {
		t.Fatalf("%s: Content-Length %d, want %d", where, resp.ContentLength, len(body))
	}
	if method == "HEAD" {
		if len(got) != 0 {
			t.Fatalf("%s: a body of %d bytes", where, len(got))
		}
	} else if !bytes.Equal(got, body) {
		t.Fatalf("%s: body of %d bytes differs", where, len(got))
	}
}
