//go:build wasip1

package edgeabi

import (
	"errors"
	"strconv"
	"strings"
	"unsafe"
)

// The host's refusals of a fetch; a [FetchError] unwraps to one of them.
const (
	ErrFetchRefused  Error = -5 // not in the route's allowed_outbound_hosts, or an internal address
	ErrFetchCount    Error = -6 // more fetches than the route's max_fetches
	ErrFetchTooLarge Error = -7 // the response is over the route's max_fetch_size
	ErrFetchFailed   Error = -8 // network error, a bad answer, or the request's deadline passed
	ErrFetchBad      Error = -9 // a malformed request (not an absolute http(s) URL, a bad header)
)

// FetchError is a fetch the host refused or could not make: its code and
// the host's explanation ("edge_v1 fetch: ...").
type FetchError struct {
	Code    Error
	Message string
}

func (e *FetchError) Error() string { return e.Message }

// Unwrap lets errors.Is(err, edgeabi.ErrFetchRefused) and the like work.
func (e *FetchError) Unwrap() error { return e.Code }

// FetchResponse is the answer to a [Fetch].
type FetchResponse struct {
	Status int
	Header Header
	Body   []byte
}

// Fetch makes an outbound HTTP request, allowed only to the hosts the
// route lists in allowed_outbound_hosts (docs/cdn.md). GETs go through the
// node's HTTP cache: a cacheable answer is served from it the next time
// (Header "X-Cache" says HIT or MISS). Redirects are followed, to allowed
// hosts only. The request's deadline applies: a fetch waits at most until
// the guest's own time is up.
func Fetch(method, url string, header Header, body []byte) (*FetchResponse, error) {
	req, err := encodeFetch(method, url, header, body)
	if err != nil {
		return nil, err
	}
	rc := hostFetch(bytesPtr(req), uint32(len(req)))
	text := fetchResult()
	if rc < 0 {
		return nil, &FetchError{Code: Error(rc), Message: string(text)}
	}
	return parseFetchResponse(text)
}

// Get is Fetch("GET", url, nil, nil).
func Get(url string) (*FetchResponse, error) { return Fetch("GET", url, nil, nil) }

// fetchResult reads what the last fetch left: its answer, or the error text.
func fetchResult() []byte {
	n := hostFetchResponse(nil, 0)
	if n <= 0 {
		return nil
	}
	buf := make([]byte, n)
	hostFetchResponse(unsafe.Pointer(&buf[0]), uint32(n))
	return buf
}

// encodeFetch renders "METHOD URL\n", the header lines, an empty line and
// the body, refusing what cannot be said on one line.
func encodeFetch(method, url string, header Header, body []byte) ([]byte, error) {
	if !validName(method) || url == "" || strings.ContainsAny(url, " \r\n\x00") {
		return nil, &FetchError{Code: ErrFetchBad, Message: "edgeabi: fetch: bad method or URL"}
	}
	b := make([]byte, 0, 64+len(url)+len(body))
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, url...)
	b = append(b, '\n')
	for name, values := range header {
		if !validName(name) {
			return nil, &FetchError{Code: ErrFetchBad, Message: "edgeabi: fetch: bad header name " + strconv.Quote(name)}
		}
		for _, v := range values {
			if strings.ContainsAny(v, "\r\n\x00") {
				return nil, &FetchError{Code: ErrFetchBad, Message: "edgeabi: fetch: bad value for " + name}
			}
			b = append(b, name...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, '\n')
		}
	}
	b = append(b, '\n')
	return append(b, body...), nil
}

// parseFetchResponse reads "STATUS\n", header lines, an empty line, the body.
func parseFetchResponse(b []byte) (*FetchResponse, error) {
	line, rest, ok := cutLine(b)
	status, err := strconv.Atoi(string(line))
	if !ok || err != nil {
		return nil, errors.New("edgeabi: fetch: malformed answer from the host")
	}
	r := &FetchResponse{Status: status, Header: Header{}}
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return nil, errors.New("edgeabi: fetch: answer head without an end")
		}
		if len(line) == 0 {
			break
		}
		name, value, _ := strings.Cut(string(line), ":")
		r.Header[name] = append(r.Header[name], strings.TrimLeft(value, " \t"))
	}
	r.Body = rest
	return r, nil
}
