package modules_test

import (
	"bytes"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/edgecdn/edge/modules"
	"golang.org/x/net/http/httpguts"
)

// FuzzParseFetchRequest feeds what a hostile guest writes into its memory
// for the fetch host call to the parser. Whatever the bytes, it refuses
// them with ErrFetchBad, or returns a request whose method, header names
// and values net/http would send as they are (so a refusal is the
// guest's "malformed", never a failure further down), whose body is the
// input's tail, and which written out again parses to itself.
func FuzzParseFetchRequest(f *testing.F) {
	for _, seed := range []string{
		"GET https://api.example/v1\n\n",
		"POST https://api.example/v1\nContent-Type: application/json\nX-A: 1\nX-A: 2\n\n{\"a\":1}",
		"GET https://api.example/v1\n",
		"GET https://api.example/v1",
		"GET https://api.example/v1\nX-A: 1\n",
		"GET\n\n",
		"GET  https://a\n\n",
		"G(T https://a\n\n",
		"GET https://a b\n\n",
		"GET https://a\r\n\r\n",
		"GET https://a\nX-A 1\n\n",
		"GET https://a\n: 1\n\n",
		"GET https://a\nX-A: a\x00b\n\n",
		"GET https://a\nX-A: a\x01b\n\n",
		"GET https://a\nX-A:\t\v 1 \x85\n\n",
		"\n\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		req, err := modules.ParseFetchRequest(in)
		if !bytes.Equal(in, orig) {
			t.Fatalf("input modified: %q became %q", orig, in)
		}
		if err != nil {
			if req != nil || !errors.Is(err, modules.ErrFetchBad) {
				t.Fatalf("ParseFetchRequest(%q) = %v, %v; want nil and ErrFetchBad", in, req, err)
			}
			return
		}
		if !httpguts.ValidHeaderFieldName(req.Method) {
			t.Errorf("method %q is not a token", req.Method)
		}
		if req.URL == "" || strings.ContainsFunc(req.URL, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			t.Errorf("URL %q is empty or has spaces or control characters", req.URL)
		}
		for name, values := range req.Header {
			if !httpguts.ValidHeaderFieldName(name) {
				t.Errorf("invalid header name %q", name)
			}
			for _, v := range values {
				if !httpguts.ValidHeaderFieldValue(v) {
					t.Errorf("invalid value %q for header %s", v, name)
				}
			}
		}
		if !bytes.HasSuffix(in, req.Body) {
			t.Errorf("body %q is not a suffix of the input", req.Body)
		}
		again, err := modules.ParseFetchRequest(encodeFetchRequest(req))
		if err != nil {
			t.Fatalf("%q parsed to %+v, which written out does not parse: %v", in, req, err)
		}
		if again.Method != req.Method || again.URL != req.URL || !reflect.DeepEqual(again.Header, req.Header) || !bytes.Equal(again.Body, req.Body) {
			t.Fatalf("%q parsed to %+v, written out and parsed again to %+v", in, req, again)
		}
	})
}

// encodeFetchRequest writes r as a guest would (docs/edge-abi.md).
func encodeFetchRequest(r *modules.FetchRequest) []byte {
	var b bytes.Buffer
	b.WriteString(r.Method + " " + r.URL + "\n")
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range r.Header[name] {
			b.WriteString(name + ": " + v + "\n")
		}
	}
	b.WriteByte('\n')
	b.Write(r.Body)
	return b.Bytes()
}

// TestParseFetchRequestRefusesControlBytes: a header value or URL with a
// control byte, which net/http refuses to send, is the guest's malformed
// request (ErrFetchBad), refused before anything is sent; it used to pass
// the parser and fail later as an outbound failure.
func TestParseFetchRequestRefusesControlBytes(t *testing.T) {
	for _, in := range []string{
		"GET https://a/\nX-A: a\x01b\n\n",
		"GET https://a/\nX-A: a\x7fb\n\n",
		"GET https://a/\nX-A: a\vb\n\n",
		"GET https://a/\tb\n\n",
		"GET https://a/\x1b\n\n",
	} {
		if req, err := modules.ParseFetchRequest([]byte(in)); !errors.Is(err, modules.ErrFetchBad) {
			t.Errorf("ParseFetchRequest(%q) = %+v, %v; want ErrFetchBad", in, req, err)
		}
	}
	req, err := modules.ParseFetchRequest([]byte("GET https://a/\nX-A: \t a\tb é \n\n"))
	if err != nil || req.Header.Get("X-A") != "a\tb é" {
		t.Fatalf("a value with a tab inside and obs-text: %+v, %v", req, err)
	}
}
