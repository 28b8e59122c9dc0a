package modules_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/edgecdn/edge/modules"
)

// watEdgeEcho is an edge ABI guest: it reads the request into memory at
// 4096, responds 201 with a header and the request's first line as the
// body, appends "!" with body_write, and logs "handled".
const watEdgeEcho = `(module
  (import "edge_v1" "request" (func $request (param i32 i32) (result i32)))
  (import "edge_v1" "respond" (func $respond (param i32 i32 i32 i32 i32) (result i32)))
  (import "edge_v1" "body_write" (func $body_write (param i32 i32) (result i32)))
  (import "edge_v1" "log" (func $log (param i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "X-Echo: 1\nContent-Type: text/plain\n")
  (data (i32.const 64) "!handled")
  (func (export "edge_handle") (result i32) (local $n i32) (local $i i32)
    (local.set $n (call $request (i32.const 4096) (i32.const 60000)))
    ;; the first line ends at the first "\n"
    (block $done (loop $scan
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (br_if $done (i32.eq (i32.load8_u (i32.add (i32.const 4096) (local.get $i))) (i32.const 10)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $scan)))
    (drop (call $respond (i32.const 201) (i32.const 16) (i32.const 35) (i32.const 4096) (local.get $i)))
    (drop (call $body_write (i32.const 64) (i32.const 1)))
    (call $log (i32.const 65) (i32.const 7))
    (i32.const 0)))`

// Misbehaving edge ABI guests.
const (
	watEdgeSilent  = `(module (memory (export "memory") 1) (func (export "edge_handle") (result i32) (i32.const 0)))`
	watEdgeBadHead = `(module
  (import "edge_v1" "respond" (func $respond (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Content-Length: 5\n")
  (func (export "edge_handle") (result i32)
    (drop (call $respond (i32.const 200) (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 0))) (i32.const 0)))`
	watEdgeWild = `(module
  (import "edge_v1" "request" (func $request (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "edge_handle") (result i32)
    (drop (call $request (i32.const 65530) (i32.const 60000))) (i32.const 0)))`
	watEdgeTwice = `(module
  (import "edge_v1" "respond" (func $respond (param i32 i32 i32 i32 i32) (result i32)))
  (import "edge_v1" "body_write" (func $body_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Content-Type: text/plain\nabc")
  (func (export "edge_handle") (result i32)
    ;; body_write before respond is refused (-3): write its result as the body
    (if (i32.ne (call $body_write (i32.const 41) (i32.const 3)) (i32.const -3)) (then unreachable))
    (if (call $respond (i32.const 700) (i32.const 16) (i32.const 25) (i32.const 0) (i32.const 0)) (then) (else unreachable))
    (if (call $respond (i32.const 202) (i32.const 16) (i32.const 25) (i32.const 41) (i32.const 3)) (then unreachable))
    (if (i32.ne (call $respond (i32.const 203) (i32.const 16) (i32.const 25) (i32.const 41) (i32.const 3)) (i32.const -3)) (then unreachable))
    (i32.const 0)))`
)

func TestRunEdge(t *testing.T) {
	e := newEngine(t)
	req := httptest.NewRequest("POST", "/api/echo?x=1", strings.NewReader("body"))
	resp, out, err := e.RunEdge(context.Background(), compile(t, e, watEdgeEcho), modules.EdgeRequest(req, []byte("body")), modules.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 201 || resp.Header.Get("X-Echo") != "1" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("status %d, header %v", resp.Status, resp.Header)
	}
	if string(resp.Body) != "POST /api/echo?x=1!" {
		t.Errorf("body %q, want the request line and !", resp.Body)
	}
	if string(out.Stderr) != "handled\n" {
		t.Errorf("log %q", out.Stderr)
	}
	resp, _, err = e.RunEdge(context.Background(), compile(t, e, watEdgeTwice), modules.EdgeRequest(req, nil), modules.Limits{})
	if err != nil || resp.Status != 202 || string(resp.Body) != "abc" {
		t.Errorf("a second respond or a bad status changed the response: %v %+v", err, resp)
	}
}

func TestRunEdgeMisbehaving(t *testing.T) {
	e := newEngine(t)
	req := modules.EdgeRequest(httptest.NewRequest("GET", "/", nil), nil)
	for name, tc := range map[string]struct {
		wat  string
		want error
		msg  string
	}{
		"never responds":        {watEdgeSilent, modules.ErrBadResponse, "without calling respond"},
		"sets Content-Length":   {watEdgeBadHead, modules.ErrBadResponse, "Content-Length"},
		"points outside memory": {watEdgeWild, modules.ErrTrap, "outside the guest's memory"},
		"is a WAGI command":     {watPrint, modules.ErrInvalidModule, "lacks the export"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := e.RunEdge(context.Background(), compile(t, e, tc.wat), req, modules.Limits{})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
		})
	}
}

func TestEdgeRequestEncoding(t *testing.T) {
	r := httptest.NewRequest("PUT", "/a%2Fb?q=1", nil)
	r.Host = "example.com"
	r.Header.Set("X-Multi", "one\ntwo")
	got := string(modules.EdgeRequest(r, []byte("payload")))
	for _, want := range []string{"PUT /a%2Fb?q=1\n", "Host: example.com\n", "X-Multi: one two\n", "\n\npayload"} {
		if !strings.Contains(got, want) {
			t.Errorf("request %q lacks %q", got, want)
		}
	}
}

func BenchmarkRunEdgeWAT(b *testing.B) {
	e := newEngine(b)
	m := compile(b, e, watEdgeEcho)
	req := modules.EdgeRequest(httptest.NewRequest("GET", "/bench", nil), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := e.RunEdge(context.Background(), m, req, modules.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// watEdgeForger responds with the node's own headers among its own.
const watEdgeForger = `(module
  (import "edge_v1" "respond" (func $respond (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "X-Request-Id: forged\nAlt-Svc: h3=\"evil.example:443\"\nServer: evil\nDate: Thu, 01 Jan 1970 00:00:00 GMT\nX-Kept: yes\n")
  (func (export "edge_handle") (result i32)
    (drop (call $respond (i32.const 200) (i32.const 16) (i32.const 113) (i32.const 0) (i32.const 0))) (i32.const 0)))`

// TestRunEdgeDropsServerHeaders: an edge ABI guest cannot set the node's
// own headers; its others are kept.
func TestRunEdgeDropsServerHeaders(t *testing.T) {
	e := newEngine(t)
	req := modules.EdgeRequest(httptest.NewRequest("GET", "/", nil), nil)
	resp, _, err := e.RunEdge(context.Background(), compile(t, e, watEdgeForger), req, modules.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (http.Header{"X-Kept": {"yes"}}); !reflect.DeepEqual(resp.Header, want) {
		t.Errorf("header %v, want %v", resp.Header, want)
	}
}
