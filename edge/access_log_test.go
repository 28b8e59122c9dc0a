package edge_test

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edgecdn/edge/edge"
)

// TestAccessLog: one line per request, carrying its request id, only when
// asked for.
func TestAccessLog(t *testing.T) {
	for _, on := range []bool{false, true} {
		var buf bytes.Buffer
		h := edge.NewHandler(edge.HandlerConfig{Router: edge.NewRouter(), AccessLog: on, Log: slog.New(slog.NewTextHandler(&buf, nil))})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
		id := w.Header().Get("X-Request-Id")
		logged := strings.Contains(buf.String(), "msg=request") && strings.Contains(buf.String(), "id="+id)
		if logged != on {
			t.Errorf("AccessLog %v: log %q", on, buf.String())
		}
	}
}
