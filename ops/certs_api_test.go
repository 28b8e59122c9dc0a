package ops_test

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/ops"
	edgetls "github.com/edgecdn/edge/tls"
)

func TestCertsAndExpiryGauge(t *testing.T) {
	store, err := cache.Open(filepath.Join(t.TempDir(), "edge.db"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	expiry := time.Now().Add(90 * 24 * time.Hour)
	certs := func() []edgetls.CertInfo {
		return []edgetls.CertInfo{
			{Name: "shop.example.com", Source: "acme", Issuer: "Pebble Intermediate CA", NotAfter: expiry},
			{Name: "new.example.com", Source: "none"},
			{Name: "localhost", Source: "dev-ca"},
		}
	}
	for _, tt := range []struct {
		name  string
		certs func() []edgetls.CertInfo
		path  string
		code  int
		want  []string
		never []string
	}{
		{"list", certs, "/v1/certs", 200, []string{`"name": "shop.example.com"`, `"source": "none"`, `"issuer": "Pebble Intermediate CA"`}, nil},
		{"gauge only for held certificates", certs, "/metrics", 200,
			[]string{"# TYPE edge_tls_cert_expiry_seconds gauge", `edge_tls_cert_expiry_seconds{name="shop.example.com"} 7.7`},
			[]string{`name="new.example.com"`, `name="localhost"`}},
		{"no manager", nil, "/v1/certs", http.StatusNotImplemented, nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			admin, err := ops.NewAdmin(ops.AdminConfig{Addr: "127.0.0.1:0", Token: token, Cache: store, Certs: tt.certs})
			if err != nil {
				t.Fatal(err)
			}
			if err := admin.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { admin.Shutdown(t.Context()) })
			req, _ := http.NewRequest(http.MethodGet, "http://"+admin.Addr()+tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code {
				t.Fatalf("%s: %d, want %d: %s", tt.path, resp.StatusCode, tt.code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(body), w) {
					t.Errorf("%s lacks %q:\n%s", tt.path, w, body)
				}
			}
			for _, n := range tt.never {
				if strings.Contains(string(body), n) {
					t.Errorf("%s has %q", tt.path, n)
				}
			}
		})
	}
}
