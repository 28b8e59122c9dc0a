package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Errors of readBody, mapped to statuses in serveDynamic.
var (
	// errBodyTooLarge is returned for a body over the route's limit, at
	// once when its Content-Length says so.
	errBodyTooLarge = errors.New("edge: request body too large")
	// errBodyBudget is returned when the node's body memory stayed full
	// for the whole wait.
	errBodyBudget = errors.New("edge: request body memory exhausted")
)

// bodyStep is the first reservation for a body of unknown length; each
// later one doubles what the body holds, so a body of n bytes takes about
// log2(n/bodyStep) reservations.
const bodyStep = 64 << 10

// bodyBudget bounds the request body bytes buffered across the node. A
// request reserves room before it reads (its declared length, or step by
// step as an unsized body grows) and waits a bounded time for it; the
// semaphore is FIFO, so a large body is not starved by small ones.
type bodyBudget struct {
	sem  *semaphore.Weighted
	max  int64
	wait time.Duration
	used atomic.Int64 // for metrics
}

func newBodyBudget(max int64, wait time.Duration) *bodyBudget {
	return &bodyBudget{sem: semaphore.NewWeighted(max), max: max, wait: wait}
}

// reserve takes n bytes, waiting at most b.wait.
func (b *bodyBudget) reserve(ctx context.Context, n int64) error {
	if n > b.max {
		return errBodyBudget
	}
	ctx, cancel := context.WithTimeout(ctx, b.wait)
	defer cancel()
	if err := b.sem.Acquire(ctx, n); err != nil {
		if r := context.Cause(ctx); r != nil && !errors.Is(r, context.DeadlineExceeded) {
			return r // the client left
		}
		return errBodyBudget
	}
	b.used.Add(n)
	return nil
}

// readBody reads r's body, at most limit bytes, within the node's body
// budget. release gives the reservation back once the body is no longer
// needed; it is never nil.
func (b *bodyBudget) readBody(r *http.Request, limit int64) (body []byte, release func(), err error) {
	release = func() {}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, release, nil
	}
	if r.ContentLength > limit {
		return nil, release, fmt.Errorf("%w: Content-Length %d over %d", errBodyTooLarge, r.ContentLength, limit)
	}
	var held int64
	release = func() {
		if held > 0 {
			b.used.Add(-held)
			b.sem.Release(held)
			held = 0
		}
	}
	grow := func(n int64) error {
		if err := b.reserve(r.Context(), n); err != nil {
			return err
		}
		held += n
		return nil
	}
	if r.ContentLength > 0 {
		if err := grow(r.ContentLength); err != nil {
			return nil, release, err
		}
		body = make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			release()
			return nil, release, fmt.Errorf("edge: read request body: %w", err)
		}
		return body, release, nil
	}
	body, err = b.readUnsized(r.Body, limit, &held, grow)
	if err != nil {
		release()
	}
	return body, release, err
}

// readUnsized reads a body of unknown length (chunked, or h2/h3 without
// Content-Length), reserving room before each read.
func (b *bodyBudget) readUnsized(rd io.Reader, limit int64, held *int64, grow func(int64) error) ([]byte, error) {
	var body []byte
	for {
		if int64(len(body)) == *held {
			if *held > limit {
				return nil, fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, limit)
			}
			// One byte past the limit tells a body at the limit from one over it.
			if err := grow(min(max(*held, bodyStep), limit+1-*held)); err != nil {
				return nil, err
			}
			body = slices.Grow(body, int(*held)-len(body))
		}
		n, err := rd.Read(body[len(body):*held])
		body = body[:len(body)+n]
		if errors.Is(err, io.EOF) {
			if int64(len(body)) > limit {
				return nil, fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, limit)
			}
			return body, nil
		}
		if err != nil {
			return nil, fmt.Errorf("edge: read request body: %w", err)
		}
	}
}
