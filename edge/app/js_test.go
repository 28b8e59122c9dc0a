package app_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/modules"
)

// jsTestScript is the one script the JavaScript tests serve: each path
// exercises one part of the runtime, so the 19 MB engine is snapshotted
// and compiled once for all of them.
const jsTestScript = `
const started = "top-level ran";
let counter = 0;
// A script may change the globals it was given; the engine's own warm-up
// (prelude.js) must not depend on them.
Object.entries = undefined;
addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  counter++;
  switch (url.pathname) {
  case "/hello":
    event.respondWith(new Response("Hello, " + (url.searchParams.get("name") || "world") + "!\n", {status: 200, headers: {"X-Top": started}}));
    return;
  case "/counter":
    event.respondWith(new Response(String(counter)));
    return;
  case "/echo":
    event.respondWith((async () => {
      const body = await req.json();
      return Response.json({method: req.method, ct: req.headers.get("content-type"), has: req.headers.has("X-Missing"), got: body, env: env.GREETING,
        entries: Array.from(req.headers.entries()).filter(([k]) => k.startsWith("x-")).map(([k, v]) => k + "=" + v).join(",")}, {status: 201});
    })());
    return;
  case "/apis": {
    const enc = new TextEncoder().encode("héllo");
    const q = new URLSearchParams("a=1&b=x+y&a=2");
    q.append("c", "d&e");
    const h = new Headers({"X-A": "1"});
    h.append("x-a", "2");
    console.log("apis", enc.length, {k: 1});
    console.error("an error line");
    event.respondWith(Response.json({len: enc.length, dec: new TextDecoder().decode(enc), all: q.getAll("a"), b: q.get("b"), qs: q.toString(),
      h: h.get("x-a"), rel: new URL("../x?y=1#z", "https://ex.test/a/b/c").href, rnd: Math.random()}));
    return;
  }
  case "/loop":
    for (;;) {}
  case "/never":
    event.respondWith(new Promise(() => {}));
    return;
  case "/none":
    return;
  case "/throw":
    throw new Error("boom in handler");
  case "/reject":
    event.respondWith(Promise.reject(new TypeError("rejected")));
    return;
  case "/notresponse":
    event.respondWith({status: 200});
    return;
  case "/huge":
    event.respondWith(new Response("x".repeat(2 << 20)));
    return;
  case "/badheader":
    event.respondWith(new Response("h", {headers: {"Content-Length": "99", "X-Ok": "1"}}));
    return;
  }
  event.respondWith(new Response("not found", {status: 404}));
});
`

// writeJSApp writes an app whose one route /... runs script.
func writeJSApp(t testing.TB, script, route string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "handler.js"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	toml := "name = \"js\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/...\"\nscript = \"handler.js\"\nmax_output = \"1MiB\"\n" + route
	if err := os.WriteFile(filepath.Join(dir, app.ConfigFile), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// jsShared is one engine and loader for the package's JavaScript tests:
// deriving and compiling the engine's snapshot costs seconds, once.
var jsShared struct {
	once   sync.Once
	engine *modules.Engine
	loader *app.ModuleLoader
	app    *app.App
	err    error
}

func jsApp(t testing.TB) *app.App {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: deriving and compiling the JavaScript engine's snapshot takes 10-100 s on a shared machine")
	}
	jsShared.once.Do(func() {
		e, err := modules.NewEngine(nil)
		if err != nil {
			jsShared.err = err
			return
		}
		jsShared.engine = e
		jsShared.loader = app.NewModuleLoader(e, nil, quietLog)
		dir := writeJSApp(t, jsTestScript, "env = { GREETING = \"Hi\" }\ntimeout = \"1s\"\n")
		jsShared.app, jsShared.err = app.LoadAppDir(dir, app.LoadOptions{Loader: jsShared.loader})
	})
	if jsShared.err != nil {
		t.Fatal(jsShared.err)
	}
	return jsShared.app
}

// runJS serves one request through the app's JavaScript route.
func runJS(t testing.TB, a *app.App, method, target, body string) (*modules.Response, *modules.Output, error) {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Add("X-One", "1")
	r.Header.Add("X-One", "2")
	rt := a.Routes[0]
	return rt.Module.Engine().RunEdge(context.Background(), rt.Module, modules.EdgeRequest(r, []byte(body)), rt.Limits)
}

func TestJSHello(t *testing.T) {
	a := jsApp(t)
	resp, out, err := runJS(t, a, "GET", "/hello?name=edge", "")
	if err != nil {
		t.Fatalf("%v (log %q)", err, out.Stderr)
	}
	if got := string(resp.Body); resp.Status != 200 || got != "Hello, edge!\n" {
		t.Fatalf("got %d %q", resp.Status, got)
	}
	if got := resp.Header.Get("X-Top"); got != "top-level ran" {
		t.Errorf("X-Top = %q: the top level's state is not in the snapshot", got)
	}
	if got := resp.Header.Get("Content-Type"); got != "text/plain;charset=UTF-8" {
		t.Errorf("Content-Type = %q", got)
	}
}

// TestJSFreshPerRequest: a global the handler increments is 1 in every
// request: each starts from the snapshot, not from the previous request.
func TestJSFreshPerRequest(t *testing.T) {
	a := jsApp(t)
	for range 3 {
		resp, out, err := runJS(t, a, "GET", "/counter", "")
		if err != nil {
			t.Fatalf("%v (log %q)", err, out.Stderr)
		}
		if string(resp.Body) != "1" {
			t.Fatalf("counter = %q, want 1 in every request", resp.Body)
		}
	}
}

func TestJSRequestAndJSON(t *testing.T) {
	a := jsApp(t)
	resp, out, err := runJS(t, a, "POST", "/echo", `{"x":[1,2]}`)
	if err != nil {
		t.Fatalf("%v (log %q)", err, out.Stderr)
	}
	want := `{"method":"POST","ct":"application/json","has":false,"got":{"x":[1,2]},"env":"Hi","entries":"x-one=1, 2"}`
	if resp.Status != 201 || string(resp.Body) != want {
		t.Fatalf("got %d %s\nwant %s", resp.Status, resp.Body, want)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
}

func TestJSWebAPIs(t *testing.T) {
	a := jsApp(t)
	var rnd []string
	for range 2 {
		resp, out, err := runJS(t, a, "GET", "/apis", "")
		if err != nil {
			t.Fatalf("%v (log %q)", err, out.Stderr)
		}
		body := string(resp.Body)
		want := `{"len":6,"dec":"héllo","all":["1","2"],"b":"x y","qs":"a=1&b=x+y&a=2&c=d%26e","h":"1, 2","rel":"https://ex.test/a/x?y=1#z","rnd":`
		if !strings.HasPrefix(body, want) {
			t.Fatalf("got  %s\nwant %s...", body, want)
		}
		rnd = append(rnd, strings.TrimPrefix(body, want))
		if log := string(out.Stderr); !strings.Contains(log, `apis 6 {"k":1}`) || !strings.Contains(log, "error: an error line") {
			t.Errorf("console lines missing from the log: %q", log)
		}
	}
	if rnd[0] == rnd[1] {
		t.Errorf("Math.random gave %s in two requests: its seed is frozen in the snapshot", rnd[0])
	}
}

// TestJSHostile: a handler that misbehaves costs its own request only,
// with the status the edge ABI gives that failure.
func TestJSHostile(t *testing.T) {
	a := jsApp(t)
	for _, tc := range []struct {
		path    string
		wantErr error // or
		status  int
		log     string
	}{
		{path: "/loop", wantErr: modules.ErrDeadline},
		{path: "/never", status: 500, log: "never settled"},
		{path: "/none", status: 500, log: "respondWith"},
		{path: "/throw", status: 500, log: "boom in handler"},
		{path: "/reject", status: 500, log: "rejected"},
		{path: "/notresponse", status: 500, log: "needs a Response"},
		{path: "/huge", wantErr: modules.ErrOutputTooLarge},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			resp, out, err := runJS(t, a, "GET", tc.path, "")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v (log %q)", err, out.Stderr)
			}
			if resp.Status != tc.status || !strings.Contains(string(out.Stderr), tc.log) {
				t.Fatalf("got %d, log %q; want %d and %q", resp.Status, out.Stderr, tc.status, tc.log)
			}
		})
	}
	// And the route still answers.
	if resp, _, err := runJS(t, a, "GET", "/hello", ""); err != nil || resp.Status != 200 {
		t.Fatalf("after the hostile requests: %v", err)
	}
}

// TestJSServerHeadersDropped: a Content-Length the script sets is the
// server's to set; it is dropped, not turned into a 502.
func TestJSServerHeadersDropped(t *testing.T) {
	a := jsApp(t)
	resp, out, err := runJS(t, a, "GET", "/badheader", "")
	if err != nil {
		t.Fatalf("%v (log %q)", err, out.Stderr)
	}
	if resp.Status != 200 || resp.Header.Get("X-Ok") != "1" || resp.Header.Get("Content-Length") != "" {
		t.Fatalf("got %d %v", resp.Status, resp.Header)
	}
}

// TestJSRefusedAtLoad: a script that cannot serve is refused when the app
// loads, with its file and line, and nothing is served.
func TestJSRefusedAtLoad(t *testing.T) {
	jsApp(t) // the shared engine
	for _, tc := range []struct{ name, script, route, want string }{
		{"syntax", "addEventListener('fetch', (e) => {\n  e.respondWith(new Response('x')\n});\n", "", "handler.js:3:"},
		{"throw", "const a = 1;\n\nthrow new Error('no config');\n", "", "handler.js:3:7: uncaught Error: no config"},
		{"nolistener", "const a = 1;\n", "", "registers no fetch listener"},
		{"loop", "for (;;) {}\n", "", "handler.js: the script's top level ran past its time limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeJSApp(t, tc.script, tc.route)
			start := time.Now()
			_, err := app.LoadAppDir(dir, app.LoadOptions{Loader: jsShared.loader})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			t.Logf("refused in %v: %v", time.Since(start), err)
		})
	}
}

func TestJSConfig(t *testing.T) {
	for _, tc := range []struct{ route, want string }{
		{"script = \"h.js\"\nmodule = \"g.wasm\"\n", "not both"},
		{"script = \"h.js\"\nexecutor = \"edge\"\n", `executor = "js"`},
		{"script = \"h.js\"\npreinit = false\n", "always pre-initialised"},
		{"module = \"g.wasm\"\nexecutor = \"js\"\n", `set script`},
		{"script = \"h.js\"\nstatic = \"public\"\n", "not both"},
		{"origin = \"http://127.0.0.1:1\"\nscript = \"h.js\"\n", "one of module, static or origin"},
	} {
		_, err := app.ParseConfig("edge.toml", []byte("name = \"x\"\nhosts = [\"*\"]\n[[routes]]\npath = \"/a\"\n"+tc.route))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.route, err, tc.want)
		}
	}
}
