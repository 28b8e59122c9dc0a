package modules

// #include "capi.h"
import "C"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/cgo"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/net/http/httpguts"
)

// A Fetcher makes the outbound HTTP requests of one edge ABI run (the
// fetch host function, docs/edge-abi.md). The node's Fetcher checks the
// route's allowed hosts and goes through its HTTP cache; ctx carries the
// run's deadline. Errors wrap one of the ErrFetch* sentinels, which the
// guest sees as its code, and their text is what the guest reads.
type Fetcher interface {
	Fetch(ctx context.Context, req *FetchRequest) (*FetchResponse, error)
}

// FetchRequest is a guest's outbound request.
type FetchRequest struct {
	Method string
	URL    string // absolute http or https
	Header http.Header
	Body   []byte
}

// FetchResponse is what the guest gets back.
type FetchResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// Why a fetch was refused; each has its code in the guest (capi.h).
var (
	ErrFetchRefused  = errors.New("outbound request refused")
	ErrFetchCount    = errors.New("too many outbound requests")
	ErrFetchTooLarge = errors.New("outbound response too large")
	ErrFetchFailed   = errors.New("outbound request failed")
	ErrFetchBad      = errors.New("malformed outbound request")
)

// fetchCodes maps the sentinels onto the guest's codes.
var fetchCodes = []struct {
	err  error
	code C.int32_t
}{
	{ErrFetchRefused, C.EDGE_ABI_ERR_FETCH_REFUSED},
	{ErrFetchCount, C.EDGE_ABI_ERR_FETCH_COUNT},
	{ErrFetchTooLarge, C.EDGE_ABI_ERR_FETCH_TOO_LARGE},
	{ErrFetchBad, C.EDGE_ABI_ERR_FETCH_BAD},
}

type fetcherKey struct{}

// WithFetcher returns a context under which RunEdge lets the guest make
// outbound requests through f. Without one, every fetch is refused.
func WithFetcher(ctx context.Context, f Fetcher) context.Context {
	return context.WithValue(ctx, fetcherKey{}, f)
}

// fetchRun is one run's fetcher and deadline, reached from C through a
// cgo.Handle.
type fetchRun struct {
	ctx context.Context
	f   Fetcher
}

// fetchHandle registers the run's fetcher, if ctx has one, for the C
// side; it returns 0 and a no-op without one. The deadline is the run's:
// a fetch cannot outlive the guest that made it.
func fetchHandle(ctx context.Context, timeout time.Duration) (C.uintptr_t, func()) {
	f, _ := ctx.Value(fetcherKey{}).(Fetcher)
	if f == nil {
		return 0, func() {}
	}
	ctx, cancel := context.WithTimeout(ctx, max(timeout, 0))
	h := cgo.NewHandle(&fetchRun{ctx: ctx, f: f})
	return C.uintptr_t(h), func() { h.Delete(); cancel() }
}

//export edgeFetchGo
func edgeFetchGo(h C.uintptr_t, req *C.uint8_t, n C.size_t, out **C.uint8_t, outLen *C.size_t) C.int32_t {
	run := cgo.Handle(h).Value().(*fetchRun)
	raw := bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(req)), int(n)))
	text, code := run.fetch(raw)
	if len(text) > 0 {
		p := C.malloc(C.size_t(len(text)))
		copy(unsafe.Slice((*byte)(p), len(text)), text)
		*out, *outLen = (*C.uint8_t)(p), C.size_t(len(text))
	}
	return code
}

// fetch parses, runs and encodes one fetch: the answer and 0, or the
// error's text and its code.
func (run *fetchRun) fetch(raw []byte) ([]byte, C.int32_t) {
	req, err := ParseFetchRequest(raw)
	if err == nil {
		var resp *FetchResponse
		if resp, err = run.f.Fetch(run.ctx, req); err == nil {
			return EncodeFetchResponse(resp), 0
		}
	}
	code := C.int32_t(C.EDGE_ABI_ERR_FETCH_FAILED)
	for _, c := range fetchCodes {
		if errors.Is(err, c.err) {
			code = c.code
			break
		}
	}
	return []byte("edge_v1 fetch: " + err.Error()), code
}

// ParseFetchRequest reads a guest's fetch request: "METHOD SP URL LF",
// "Name: value LF" lines, an empty line, the body (docs/edge-abi.md).
func ParseFetchRequest(b []byte) (*FetchRequest, error) {
	head, body, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		if head, ok = bytes.CutSuffix(b, []byte("\n")); !ok || bytes.Contains(head, []byte("\n")) {
			return nil, fmt.Errorf("%w: no empty line after the head", ErrFetchBad)
		}
	}
	lines := strings.Split(string(head), "\n")
	method, url, sp := strings.Cut(lines[0], " ")
	if !sp || !validMethod(method) || url == "" || strings.ContainsFunc(url, spaceOrControl) {
		return nil, fmt.Errorf("%w: request line %q is not METHOD SP URL", ErrFetchBad, lines[0])
	}
	req := &FetchRequest{Method: method, URL: url, Header: http.Header{}, Body: body}
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		// A value net/http would refuse to send is the guest's mistake
		// (ErrFetchBad), not a failed fetch.
		if !ok || name == "" || !validHeaderName(name) || !httpguts.ValidHeaderFieldValue(value) {
			return nil, fmt.Errorf("%w: header line %q", ErrFetchBad, line)
		}
		req.Header.Add(name, value)
	}
	return req, nil
}

// spaceOrControl reports the runes a URL on the request line cannot hold.
func spaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

func validMethod(m string) bool { return m != "" && validHeaderName(m) }

func validHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// EncodeFetchResponse renders an answer for the guest: "STATUS LF",
// "Name: value LF" lines in the order Go's header map sorts them, an
// empty line, the body.
func EncodeFetchResponse(r *FetchResponse) []byte {
	var b bytes.Buffer
	b.Grow(256 + len(r.Body))
	b.WriteString(strconv.Itoa(r.Status))
	b.WriteByte('\n')
	_ = r.Header.WriteSubset(&lfWriter{&b}, nil)
	b.WriteByte('\n')
	b.Write(r.Body)
	return b.Bytes()
}

// lfWriter turns the CRLF line ends of http.Header.Write into LF.
type lfWriter struct{ b *bytes.Buffer }

func (w *lfWriter) Write(p []byte) (int, error) {
	w.b.Write(bytes.ReplaceAll(p, []byte("\r\n"), []byte("\n")))
	return len(p), nil
}
