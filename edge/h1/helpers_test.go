package h1

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// testServer is an h1 server on a loopback listener with a net/http
// server taking what it hands off, as the node wires them.
type testServer struct {
	*Server
	addr     string
	accepted atomic.Int64
	std      *http.Server
}

func startServer(t *testing.T, cfg Config, h http.Handler) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Log = quietLog
	handed := NewListener(ln.Addr())
	ts := &testServer{addr: ln.Addr().String(), std: &http.Server{Handler: h, ReadHeaderTimeout: cfg.ReadHeaderTimeout}}
	ts.Server = New(cfg, h, handed.HandOff)
	go func() { _ = ts.std.Serve(handed) }()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ts.accepted.Add(1)
			go ts.ServeConn(context.Background(), c, nil)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ts.Shutdown(ctx)
		_ = ts.std.Shutdown(ctx)
	})
	return ts
}

func (ts *testServer) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
