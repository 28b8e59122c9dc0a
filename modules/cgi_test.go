package modules_test

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/edgecdn/edge/modules"
)

func TestParseCGIResponse(t *testing.T) {
	long := strings.Repeat("v", 60<<10) // a large header that still fits the 64 KiB section
	tests := []struct {
		name   string
		in     string
		status int
		header http.Header
		body   string
	}{
		{
			name:   "content type only",
			in:     "Content-Type: text/plain\n\nhello",
			status: 200,
			header: http.Header{"Content-Type": {"text/plain"}},
			body:   "hello",
		},
		{
			name:   "crlf line endings",
			in:     "Content-Type: text/html\r\nX-Powered-By: wasm\r\n\r\n<p>hi</p>\r\n",
			status: 200,
			header: http.Header{"Content-Type": {"text/html"}, "X-Powered-By": {"wasm"}},
			body:   "<p>hi</p>\r\n",
		},
		{
			name:   "mixed line endings",
			in:     "Content-Type: text/plain\r\nX-A: 1\n\r\nbody",
			status: 200,
			header: http.Header{"Content-Type": {"text/plain"}, "X-A": {"1"}},
			body:   "body",
		},
		{
			name:   "names canonicalized and values trimmed",
			in:     "content-TYPE:   text/plain  \nx-trace-id:\tabc\t\n\n",
			status: 200,
			header: http.Header{"Content-Type": {"text/plain"}, "X-Trace-Id": {"abc"}},
			body:   "",
		},
		{
			name:   "status without reason phrase",
			in:     "Status: 404\nContent-Type: text/plain\n\nnot here",
			status: 404,
			header: http.Header{"Content-Type": {"text/plain"}},
			body:   "not here",
		},
		{
			name:   "status with reason phrase",
			in:     "Content-Type: text/plain\nStatus: 404 Not Found\n\nnot here",
			status: 404,
			header: http.Header{"Content-Type": {"text/plain"}},
			body:   "not here",
		},
		{
			name:   "status lower bound",
			in:     "Status: 200 OK\nContent-Type: text/plain\n\n",
			status: 200,
			header: http.Header{"Content-Type": {"text/plain"}},
		},
		{
			name:   "status upper bound",
			in:     "status: 599\nContent-Type: text/plain\n\n",
			status: 599,
			header: http.Header{"Content-Type": {"text/plain"}},
		},
		{
			name:   "location alone is a 302",
			in:     "Location: https://example.com/next\n\n",
			status: 302,
			header: http.Header{"Location": {"https://example.com/next"}},
		},
		{
			name:   "location with content type is a 302",
			in:     "Location: /next\nContent-Type: text/html\n\n<a href=/next>next</a>",
			status: 302,
			header: http.Header{"Location": {"/next"}, "Content-Type": {"text/html"}},
			body:   "<a href=/next>next</a>",
		},
		{
			name:   "location with status 301",
			in:     "Location: /moved\nStatus: 301 Moved Permanently\n\n",
			status: 301,
			header: http.Header{"Location": {"/moved"}},
		},
		{
			name: "hop-by-hop headers dropped",
			in: "Content-Type: text/plain\nContent-Length: 999\nTransfer-Encoding: chunked\n" +
				"Connection: close\nKeep-Alive: timeout=5\nUpgrade: h2c\nProxy-Connection: keep-alive\n" +
				"TE: trailers\nTrailer: X-Sum\nX-Kept: yes\n\nabc",
			status: 200,
			header: http.Header{"Content-Type": {"text/plain"}, "X-Kept": {"yes"}},
			body:   "abc",
		},
		{
			name: "the server's own headers dropped",
			in: "Content-Type: text/plain\nX-Request-Id: forged\nAlt-Svc: h3=\"evil.example:443\"\n" +
				"Date: Thu, 01 Jan 1970 00:00:00 GMT\nServer: evil\nX-Kept: yes\n\nabc",
			status: 200,
			header: http.Header{"Content-Type": {"text/plain"}, "X-Kept": {"yes"}},
			body:   "abc",
		},
		{
			name:   "repeated headers kept in order",
			in:     "Content-Type: text/plain\nSet-Cookie: a=1; Path=/\nset-cookie: b=2\nSet-Cookie: c=3\n\n",
			status: 200,
			header: http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"a=1; Path=/", "b=2", "c=3"}},
		},
		{
			// The values share one slice (headerBuilder): a name's second
			// value must not land on the next name's first.
			name:   "repeated headers between others",
			in:     "Set-Cookie: a=1\nX-B: b\nSet-Cookie: c=3\nX-C: c\nContent-Type: text/plain\nSet-Cookie: d=4\n\n",
			status: 200,
			header: http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"a=1", "c=3", "d=4"}, "X-B": {"b"}, "X-C": {"c"}},
		},
		{
			name:   "blank lines inside the body are body",
			in:     "Content-Type: text/plain\n\n\n\nline\n\nline\r\n\r\n",
			status: 200,
			header: http.Header{"Content-Type": {"text/plain"}},
			body:   "\n\nline\n\nline\r\n\r\n",
		},
		{
			name:   "binary body returned exactly",
			in:     "Content-Type: application/octet-stream\n\n\x00\x01\xfe\xff\r\n\x00Status: 500\n\n\x7f",
			status: 200,
			header: http.Header{"Content-Type": {"application/octet-stream"}},
			body:   "\x00\x01\xfe\xff\r\n\x00Status: 500\n\n\x7f",
		},
		{
			name:   "large header within the limit",
			in:     "Content-Type: text/plain\nX-Big: " + long + "\n\nok",
			status: 200,
			header: http.Header{"Content-Type": {"text/plain"}, "X-Big": {long}},
			body:   "ok",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := modules.ParseCGIResponse([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseCGIResponse: %v", err)
			}
			if resp.Status != tt.status {
				t.Errorf("Status = %d, want %d", resp.Status, tt.status)
			}
			if !reflect.DeepEqual(resp.Header, tt.header) {
				t.Errorf("Header = %q, want %q", resp.Header, tt.header)
			}
			if string(resp.Body) != tt.body {
				t.Errorf("Body = %q, want %q", resp.Body, tt.body)
			}
		})
	}
}

func TestParseCGIResponseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // a part of the error message
	}{
		{"neither content type nor location", "X-A: 1\n\nbody", "neither Content-Type nor Location"},
		{"status alone", "Status: 200\n\n", "neither Content-Type nor Location"},
		{"empty content type", "Content-Type:\n\nbody", "neither Content-Type nor Location"},
		{"no blank line", "Content-Type: text/plain\nhello", "no blank line after the headers"},
		{"headers end without blank line", "Content-Type: text/plain\n", "no blank line after the headers"},
		{"no newline at all", "Content-Type: text/plain", "no blank line after the headers"},
		{"empty output", "", "empty output"},
		{"body starts with blank line", "\nhello", "no headers before the body"},
		{"body starts with crlf blank line", "\r\nContent-Type: text/plain\r\n\r\n", "no headers before the body"},
		{"header without colon", "Content-Type text/plain\n\n", `"Content-Type text/plain" has no colon`},
		{"error names the line", "Content-Type: text/plain\nbogus\n\n", "header line 2"},
		{"space in name", "Content Type: text/plain\n\n", `invalid header name "Content Type"`},
		{"space before colon", "Content-Type : text/plain\n\n", "invalid header name"},
		{"non-token name", "Content-Type: text/plain\nX(a): 1\n\n", `invalid header name "X(a)"`},
		{"non-ascii name", "Content-Type: text/plain\nX-Ä: 1\n\n", "invalid header name"},
		{"empty name", "Content-Type: text/plain\n: 1\n\n", `invalid header name ""`},
		{"folded continuation line", "Content-Type: text/plain\n X-A: 1\n\n", "invalid header name"},
		{"nul in value", "Content-Type: text/plain\nX-A: a\x00b\n\n", "invalid value for header X-A"},
		{"bare cr in value", "Content-Type: text/plain\nX-A: a\rSet-Cookie: x=1\n\n", "invalid value for header X-A"},
		{"cr line ending alone", "Content-Type: text/plain\rX-A: 1\n\n", "invalid value for header Content-Type"},
		{"escape in value", "Content-Type: text/plain\nX-A: \x1b[31m\n\n", "invalid value for header X-A"},
		{"status 99", "Status: 99\nContent-Type: text/plain\n\n", `Status "99"`},
		{"status 199", "Status: 199 Early\nContent-Type: text/plain\n\n", `Status "199 Early"`},
		{"status 600", "Status: 600\nContent-Type: text/plain\n\n", `Status "600"`},
		{"status abc", "Status: abc\nContent-Type: text/plain\n\n", `Status "abc"`},
		{"status 2000", "Status: 2000\nContent-Type: text/plain\n\n", `Status "2000"`},
		{"status with sign", "Status: +404\nContent-Type: text/plain\n\n", "not a code from 200 to 599"},
		{"status glued to reason", "Status: 404NotFound\nContent-Type: text/plain\n\n", "not a code from 200 to 599"},
		{
			"header section over 64 KiB",
			"Content-Type: text/plain\nX-A: " + strings.Repeat("a", 70<<10),
			"no blank line within the first 65536 bytes",
		},
		{
			"blank line after 64 KiB of headers",
			"Content-Type: text/plain\nX-A: " + strings.Repeat("a", 70<<10) + "\n\nbody",
			"headers never ended",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := modules.ParseCGIResponse([]byte(tt.in))
			if !errors.Is(err, modules.ErrBadResponse) {
				t.Fatalf("err = %v (resp %+v), want ErrBadResponse", err, resp)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestParseCGIResponseQuotesShortly checks that a huge bad line is quoted
// truncated in the error, so a hostile guest cannot flood the log.
func TestParseCGIResponseQuotesShortly(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"no colon", strings.Repeat("x", 10_000) + "\n\n"},
		{"bad name", strings.Repeat("x ", 5_000) + ": 1\n\n"},
		{"bad status", "Content-Type: text/plain\nStatus: " + strings.Repeat("9", 10_000) + "\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := modules.ParseCGIResponse([]byte(tt.in))
			if !errors.Is(err, modules.ErrBadResponse) {
				t.Fatalf("err = %v, want ErrBadResponse", err)
			}
			if n := len(err.Error()); n > 200 {
				t.Errorf("error message is %d bytes, want a truncated quote: %.120q…", n, err)
			}
		})
	}
}
