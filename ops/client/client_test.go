package client_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecdn/edge/ops/client"
)

func TestResolveTokenOrder(t *testing.T) {
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, client.TokenFile), []byte("from-file-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, flag, env, data, want string
	}{
		{"flag wins", "from-flag", "from-env", data, "from-flag"},
		{"then the environment", "", "from-env", data, "from-env"},
		{"then the data dir", "", "", data, "from-file-0123456789"},
		{"else none", "", "", t.TempDir(), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(client.TokenEnv, c.env)
			if got := client.ResolveToken(c.flag, c.data); got != c.want {
				t.Errorf("ResolveToken = %q, want %q", got, c.want)
			}
		})
	}
}

// TestErrorsForUsers: the node's statuses become sentinel errors, and its
// internal prefixes do not reach the user.
func TestErrorsForUsers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Bearer good":
			w.WriteHeader(http.StatusUnauthorized)
		case strings.HasSuffix(r.URL.Path, "/state"):
			_, _ = w.Write([]byte(`{"app":"x","seq":0}`))
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"cache: remove app: cache: no such app version: x"}`))
		default:
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error":"edge: conflicting hosts: host \"a\" is claimed"}`))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if err := client.New(srv.URL, "bad").CheckToken(ctx); !errors.Is(err, client.ErrUnauthorized) || !strings.Contains(err.Error(), "--token") {
		t.Errorf("wrong token: %v", err)
	}
	good := client.New(srv.URL, "good")
	_, key, _ := ed25519.GenerateKey(nil)
	if err := good.Remove(ctx, "x", key); err == nil || strings.Contains(err.Error(), "cache:") || !strings.Contains(err.Error(), `no app "x"`) {
		t.Errorf("remove of an unknown app: %v", err)
	}
	if _, err := good.Apps(ctx); err == nil || strings.Contains(err.Error(), "edge:") || !strings.Contains(err.Error(), `conflicting hosts: host "a"`) {
		t.Errorf("conflict: %v", err)
	}
	srv.Close()
	var ue *client.UnreachableError
	if _, err := good.Apps(ctx); !errors.As(err, &ue) || !strings.Contains(err.Error(), "edge serve") {
		t.Errorf("no node: %v", err)
	}
}
