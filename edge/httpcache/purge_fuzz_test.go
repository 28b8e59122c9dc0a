package httpcache

import (
	"bufio"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzParsePurge feeds purge requests (the admin API's, and the bodies
// of purge statements other members relay, signed by a deploy key) to
// ParsePurge. It refuses them with ErrBadPurge, or returns a purge with
// exactly the one selector it was given; a purge by URL names the very
// entry a request for that URL is cached under.
func FuzzParsePurge(f *testing.F) {
	for _, s := range [][3]string{
		{"https://Example.COM:443/a?b=c", "", ""}, {"", "https://example.com/img/", ""}, {"", "", "tag-1"},
		{"", "", ""}, {"https://a/", "", "t"}, {"ftp://a/", "", ""}, {"/relative", "", ""}, {"", "", "a b"},
		{"http://[::1]:8080/x#frag", "", ""}, {"http://h/a%2fb c", "", ""}, {"http://u@h./", "", ""}, {"http://h", "", ""},
	} {
		f.Add(s[0], s[1], s[2], false)
	}
	f.Fuzz(func(t *testing.T, rawURL, prefix, tag string, soft bool) {
		p, err := ParsePurge(rawURL, prefix, tag, soft)
		if err != nil {
			if !errors.Is(err, ErrBadPurge) || p.Key != "" || p.Prefix != "" || p.Tag != "" || p.Soft {
				t.Fatalf("ParsePurge(%q, %q, %q) = %+v, %v; want the zero Purge and ErrBadPurge", rawURL, prefix, tag, p, err)
			}
			return
		}
		set := 0
		for _, s := range []string{p.Key, p.Prefix, p.Tag} {
			if s != "" {
				set++
			}
		}
		if set != 1 || (p.Key != "") != (rawURL != "") || (p.Prefix != "") != (prefix != "") || p.Tag != tag || p.Soft != soft {
			t.Fatalf("ParsePurge(%q, %q, %q, %v) = %+v: not the one selector given", rawURL, prefix, tag, soft, p)
		}
		if strings.ContainsAny(p.Tag, " \t\r\n") {
			t.Fatalf("tag %q has spaces", p.Tag)
		}
		if rawURL == "" {
			return
		}
		u, _ := url.Parse(rawURL)
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\n\r\n")))
		if err != nil {
			return // no client can ask for it: the purge matches nothing
		}
		// keyed as edge/origin_cache.go keys requests
		if got := Key(req.Host, req.URL.RequestURI()); got != p.Key {
			t.Fatalf("purge of %q removes %q, but a request for it is cached under %q", rawURL, p.Key, got)
		}
	})
}
