package modules_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/edgecdn/edge/modules"
	"golang.org/x/net/http/httpguts"
)

// FuzzParseCGIResponse feeds guest output, which is untrusted, to the CGI
// parser. Whatever the input, the parser either refuses it with
// ErrBadResponse or returns a response that is safe to write to a client.
func FuzzParseCGIResponse(f *testing.F) {
	for _, seed := range []string{
		"Content-Type: text/plain\n\nhello",
		"Content-Type: text/html\r\nX-A: 1\r\n\r\n<p>",
		"Content-Type: text/plain\r\nX-A: 1\n\r\nbody",
		"Status: 404\nContent-Type: text/plain\n\n",
		"Status: 404 Not Found\nContent-Type: text/plain\n\n",
		"Location: /next\n\n",
		"Location: /moved\nStatus: 301\n\n",
		"X-A: 1\n\nbody",
		"Content-Type: text/plain\nhello",
		"",
		"\nhello",
		"\r\n\r\n",
		"Content-Type text/plain\n\n",
		"Content Type: text/plain\n\n",
		"X(a): 1\nContent-Type: text/plain\n\n",
		"Content-Type: text/plain\nX-A: a\x00b\n\n",
		"Content-Type: text/plain\nX-A: a\rb\n\n",
		"Status: 99\nContent-Type: text/plain\n\n",
		"Status: 600\nContent-Type: text/plain\n\n",
		"Status: abc\nContent-Type: text/plain\n\n",
		"Status: 2000\nContent-Type: text/plain\n\n",
		"Status:\nContent-Type: text/plain\n\n",
		"Content-Type: text/plain\nContent-Length: 9\nTransfer-Encoding: chunked\nConnection: close\nTE: x\n\n",
		"Content-Type: text/plain\nSet-Cookie: a=1\nSet-Cookie: b=2\n\n",
		"Content-Type: application/octet-stream\n\n\x00\xff\n\n\r\n",
		"Content-Type: text/plain\nX-A: " + strings.Repeat("a", 70<<10) + "\n\n",
		"content-type:\t\v text/plain \x85\n\n",
	} {
		f.Add([]byte(seed))
	}
	hop := []string{"Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length", "Upgrade", "Proxy-Connection", "Te", "Trailer"}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		resp, err := modules.ParseCGIResponse(in)
		if !bytes.Equal(in, orig) {
			t.Fatalf("input modified: %q became %q", orig, in)
		}
		if err != nil {
			if !errors.Is(err, modules.ErrBadResponse) {
				t.Fatalf("err = %v, want ErrBadResponse", err)
			}
			return
		}
		if resp.Status < 200 || resp.Status > 599 {
			t.Errorf("Status = %d, want 200..599", resp.Status)
		}
		for name, values := range resp.Header {
			if !httpguts.ValidHeaderFieldName(name) {
				t.Errorf("invalid header name %q", name)
			}
			for _, v := range values {
				if !httpguts.ValidHeaderFieldValue(v) {
					t.Errorf("invalid value %q for header %s", v, name)
				}
			}
		}
		for _, name := range append(hop, "Status") {
			if _, ok := resp.Header[name]; ok {
				t.Errorf("header %s survived", name)
			}
		}
		if resp.Header.Get("Content-Type") == "" && resp.Header.Get("Location") == "" {
			t.Errorf("neither Content-Type nor Location in %q", resp.Header)
		}
		if !bytes.HasSuffix(in, resp.Body) {
			t.Errorf("Body %q is not a suffix of the input", resp.Body)
		}
		// The header section and its blank line fit in 64 KiB plus "\r\n".
		if head := len(in) - len(resp.Body); head > 64<<10+2 {
			t.Errorf("accepted a header section of %d bytes", head)
		}
	})
}
