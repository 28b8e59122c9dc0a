package modules_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecdn/edge/modules"
)

// fetchGuest compiles testdata/fetchguest/fetch.wat: it fetches its
// request body and answers with what came back (see the file).
func fetchGuest(t testing.TB, e *modules.Engine) *modules.Module {
	t.Helper()
	wat, err := os.ReadFile("testdata/fetchguest/fetch.wat")
	if err != nil {
		t.Fatal(err)
	}
	return compile(t, e, string(wat))
}

// fetcherFunc is a Fetcher from a function: the seam between the host
// function and the node's fetcher (edge.GuestFetcher, tested with real
// servers in package edge).
type fetcherFunc func(context.Context, *modules.FetchRequest) (*modules.FetchResponse, error)

func (f fetcherFunc) Fetch(ctx context.Context, r *modules.FetchRequest) (*modules.FetchResponse, error) {
	return f(ctx, r)
}

func runFetch(t *testing.T, e *modules.Engine, m *modules.Module, ctx context.Context, path, fetch string, lim modules.Limits) (*modules.Response, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(fetch))
	resp, _, err := e.RunEdge(ctx, m, modules.EdgeRequest(r, []byte(fetch)), lim)
	return resp, err
}

// TestFetchHostFunction checks the fetch host function end to end with
// a fetcher behind the seam: the request as the guest wrote it arrives
// parsed, the answer arrives encoded, every refusal earns its code and
// its text, and without a fetcher every fetch is refused.
func TestFetchHostFunction(t *testing.T) {
	e := newEngine(t)
	m := fetchGuest(t, e)
	var got *modules.FetchRequest
	var calls atomic.Int32
	f := fetcherFunc(func(ctx context.Context, r *modules.FetchRequest) (*modules.FetchResponse, error) {
		calls.Add(1)
		got = r
		switch r.URL {
		case "https://api.test/refused":
			return nil, fmt.Errorf("%w: host not allowed", modules.ErrFetchRefused)
		case "https://api.test/count":
			if calls.Load() > 3 {
				return nil, fmt.Errorf("%w: 3 allowed", modules.ErrFetchCount)
			}
		case "https://api.test/big":
			return nil, fmt.Errorf("%w: over 1 KiB", modules.ErrFetchTooLarge)
		case "https://api.test/down":
			return nil, errors.New("connection refused")
		}
		return &modules.FetchResponse{Status: 201, Header: http.Header{"X-B": {"2"}, "Content-Type": {"text/plain"}}, Body: []byte("hi")}, nil
	})
	ctx := modules.WithFetcher(context.Background(), f)

	resp, err := runFetch(t, e, m, ctx, "/one", "PUT https://api.test/x?q=1\nX-A: 1\nX-A: two\n\npayload", modules.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || string(resp.Body) != "201\nContent-Type: text/plain\nX-B: 2\n\nhi" {
		t.Errorf("got %d %q", resp.Status, resp.Body)
	}
	if got.Method != "PUT" || got.URL != "https://api.test/x?q=1" || strings.Join(got.Header["X-A"], ",") != "1,two" || string(got.Body) != "payload" {
		t.Errorf("fetcher got %+v", got)
	}

	for _, tt := range []struct {
		path, fetch string
		status      int
		text        string
	}{
		{"/one", "GET https://api.test/refused\n\n", 525, "edge_v1 fetch: outbound request refused: host not allowed"},
		{"/one", "GET https://api.test/big\n\n", 527, "edge_v1 fetch: outbound response too large: over 1 KiB"},
		{"/one", "GET https://api.test/down\n\n", 528, "edge_v1 fetch: connection refused"},
		{"/one", "GET\n\n", 529, "edge_v1 fetch: malformed outbound request: request line \"GET\" is not METHOD SP URL"},
		{"/one", "GET https://api.test/x\nBad Header\n\n", 529, "edge_v1 fetch: malformed outbound request: header line \"Bad Header\""},
		{"/many", "GET https://api.test/count\n\n", 526, "edge_v1 fetch: too many outbound requests: 3 allowed"},
	} {
		calls.Store(0)
		resp, err := runFetch(t, e, m, ctx, tt.path, tt.fetch, modules.Limits{})
		if err != nil {
			t.Fatalf("%q: %v", tt.fetch, err)
		}
		if resp.Status != tt.status || string(resp.Body) != tt.text {
			t.Errorf("%q: got %d %q, want %d %q", tt.fetch, resp.Status, resp.Body, tt.status, tt.text)
		}
	}

	resp, err = runFetch(t, e, m, context.Background(), "/one", "GET https://api.test/x\n\n", modules.Limits{})
	if err != nil || resp.Status != 525 || !strings.Contains(string(resp.Body), "not available here") {
		t.Errorf("without a fetcher: %v %+v", err, resp)
	}
}

// TestFetchDeadline: a fetch that would wait forever is bounded by the
// run's deadline, and the run ends as past its deadline (504 in the
// node), not as a guest left hanging.
func TestFetchDeadline(t *testing.T) {
	e := newEngine(t)
	m := fetchGuest(t, e)
	var sawDeadline atomic.Bool
	f := fetcherFunc(func(ctx context.Context, r *modules.FetchRequest) (*modules.FetchResponse, error) {
		_, ok := ctx.Deadline()
		sawDeadline.Store(ok)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	ctx := modules.WithFetcher(context.Background(), f)
	_, err := runFetch(t, e, m, ctx, "/one", "GET https://api.test/slow\n\n", modules.Limits{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, modules.ErrDeadline) {
		t.Fatalf("err %v, want ErrDeadline", err)
	}
	if !sawDeadline.Load() {
		t.Error("the fetcher's context had no deadline")
	}
}
