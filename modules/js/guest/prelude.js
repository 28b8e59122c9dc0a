// prelude.js: the Workers-style Web APIs of the node's JavaScript engine
// (docs/js.md), built on the native helpers in __edge (host.go). It runs
// once, in init, before the app's script; its state is in the snapshot.
(function (global) {
  "use strict";
  const host = global.__edge;
  delete global.__edge;

  function define(name, value) {
    Object.defineProperty(global, name, { value: value, writable: true, configurable: true, enumerable: false });
  }

  function toBuffer(v) {
    // An ArrayBuffer holding v's bytes (or null for no body).
    if (v === null || v === undefined) return null;
    if (v instanceof ArrayBuffer) return v;
    if (ArrayBuffer.isView(v)) return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
    if (v instanceof URLSearchParams) return host.utf8Encode(v.toString());
    return host.utf8Encode(String(v));
  }

  // Headers keeps lower-case names. A request's headers arrive from the
  // host as a flat array [name, value, ...] (names in lower case) and a
  // new Response's as one pair; the Map is built from that only when a
  // script looks beyond it, which most requests never do.
  class Headers {
    constructor(init) {
      this._map = null; // lower-case name -> [values], once built
      this._raw = null; // [name, value, ...] not yet in _map
      if (init === undefined || init === null) return;
      if (init instanceof Headers) {
        const m = this._m();
        init._m().forEach((v, k) => { m.set(k, v.slice()); });
      } else if (typeof init[Symbol.iterator] === "function") {
        for (const pair of init) {
          if (pair.length !== 2) throw new TypeError("Headers: each pair needs a name and a value");
          this.append(pair[0], pair[1]);
        }
      } else {
        const keys = Object.keys(init);
        for (let i = 0; i < keys.length; i++) this.append(keys[i], init[keys[i]]);
      }
    }
    _m() {
      let m = this._map;
      if (m === null) {
        m = this._map = new Map();
        const raw = this._raw;
        if (raw !== null) {
          this._raw = null;
          for (let i = 0; i + 1 < raw.length; i += 2) {
            const vs = m.get(raw[i]);
            if (vs) vs.push(raw[i + 1]); else m.set(raw[i], [raw[i + 1]]);
          }
        }
      }
      return m;
    }
    append(name, value) {
      const k = host.headerName(name);
      const v = host.headerValue(name, value);
      const m = this._m();
      const vs = m.get(k);
      if (vs) vs.push(v); else m.set(k, [v]);
    }
    set(name, value) {
      this._m().set(host.headerName(name), [host.headerValue(name, value)]);
    }
    get(name) {
      const vs = this._m().get(String(name).toLowerCase());
      return vs ? vs.join(", ") : null;
    }
    getSetCookie() { return (this._m().get("set-cookie") || []).slice(); }
    has(name) { return this._m().has(String(name).toLowerCase()); }
    delete(name) { this._m().delete(String(name).toLowerCase()); }
    forEach(fn, thisArg) { for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this); }
    *entries() {
      const m = this._m();
      const names = Array.from(m.keys()).sort();
      for (const k of names) {
        if (k === "set-cookie") { for (const v of m.get(k)) yield [k, v]; }
        else yield [k, m.get(k).join(", ")];
      }
    }
    *keys() { for (const [k] of this.entries()) yield k; }
    *values() { for (const [, v] of this.entries()) yield v; }
    [Symbol.iterator]() { return this.entries(); }
    // _flatPairs is [name, value, ...], each value once per line.
    _flatPairs() {
      const out = [];
      const raw = this._raw;
      if (this._map === null) {
        if (raw !== null) for (let i = 0; i < raw.length; i++) out.push(raw[i]);
      } else {
        this._map.forEach((vs, k) => { for (let i = 0; i < vs.length; i++) out.push(k, vs[i]); });
      }
      return out;
    }
    // _lines renders the headers as the host takes them, "name: value\n"
    // each, leaving out those the server sets itself.
    _lines() {
      let out = "";
      const add = (v, k) => {
        if (k === "content-length" || k === "transfer-encoding" || k === "connection") return;
        out += k + ": " + v + "\n";
      };
      const raw = this._raw;
      if (this._map === null) {
        if (raw !== null) for (let i = 0; i + 1 < raw.length; i += 2) add(raw[i + 1], raw[i]);
      } else {
        this._map.forEach((vs, k) => { for (let i = 0; i < vs.length; i++) add(vs[i], k); });
      }
      return out;
    }
  }

  // What Request and Response share, the body read once: copied onto
  // both prototypes rather than inherited, since a derived class's
  // constructor (super()) cost goja a good part of each construction.
  const bodyMethods = {
    _initBody(body) { this._body = toBuffer(body); this.bodyUsed = false; },
    _take() {
      if (this.bodyUsed) return Promise.reject(new TypeError("Body has already been used"));
      this.bodyUsed = true;
      return Promise.resolve(this._body || new ArrayBuffer(0));
    },
    arrayBuffer() { return this._take(); },
    bytes() { return this._take().then((b) => new Uint8Array(b)); },
    text() { return this._take().then((b) => host.utf8Decode(b)); },
    json() { return this.text().then((t) => JSON.parse(t)); },
    get body() { return this._body; },
  };
  function withBody(cls) {
    for (const k of Object.getOwnPropertyNames(bodyMethods)) {
      const d = Object.getOwnPropertyDescriptor(bodyMethods, k);
      d.enumerable = false;
      Object.defineProperty(cls.prototype, k, d);
    }
    return cls;
  }

  class Request {
    constructor(input, init) {
      init = init || {};
      if (input instanceof Request) {
        this.method = input.method; this.url = input.url;
        this.headers = new Headers(input.headers); this._initBody(input._body);
      } else {
        this.method = "GET"; this.url = new URL(String(input)).href;
        this.headers = new Headers(); this._initBody(null);
      }
      if (init.method !== undefined) this.method = String(init.method).toUpperCase();
      if (init.headers !== undefined) this.headers = new Headers(init.headers);
      if (init.body !== undefined) this._initBody(init.body);
    }
    clone() { return new Request(this); }
  }
  withBody(Request);

  class Response {
    constructor(body, init) {
      init = init || {};
      const status = init.status === undefined ? 200 : Number(init.status);
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new RangeError("Response: status " + init.status + " is not in 200-599");
      }
      this.status = status;
      this.statusText = init.statusText === undefined ? "" : String(init.statusText);
      this.headers = new Headers(init.headers);
      this._initBody(body);
      let type = null;
      if (typeof body === "string") type = "text/plain;charset=UTF-8";
      else if (body instanceof URLSearchParams) type = "application/x-www-form-urlencoded;charset=UTF-8";
      if (type !== null) {
        const h = this.headers;
        if (h._map === null && h._raw === null) h._raw = ["content-type", type];
        else if (!h.has("content-type")) h._m().set("content-type", [type]);
      }
    }
    get ok() { return this.status >= 200 && this.status < 300; }
    clone() { return new Response(this._body, this); }
    static json(data, init) {
      const r = new Response(JSON.stringify(data), init);
      r.headers.set("content-type", "application/json");
      return r;
    }
    static redirect(url, status) {
      status = status === undefined ? 302 : status;
      if ([301, 302, 303, 307, 308].indexOf(status) < 0) throw new RangeError("Response.redirect: invalid status " + status);
      return new Response(null, { status: status, headers: { location: new URL(url).href } });
    }
  }
  withBody(Response);

  function formEncode(s) {
    return encodeURIComponent(s)
      .replace(/[!'()~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())
      .replace(/%20/g, "+");
  }

  class URLSearchParams {
    constructor(init) {
      this._list = [];
      this._url = null;
      if (init === undefined || init === null) return;
      if (init instanceof URLSearchParams) {
        this._list = init._list.map((p) => p.slice());
      } else if (typeof init === "object" && typeof init[Symbol.iterator] === "function") {
        for (const pair of init) {
          if (pair.length !== 2) throw new TypeError("URLSearchParams: each pair needs a name and a value");
          this._list.push([String(pair[0]), String(pair[1])]);
        }
      } else if (typeof init === "object") {
        for (const k of Object.keys(init)) this._list.push([k, String(init[k])]);
      } else {
        this._parse(String(init));
      }
    }
    _parse(s) { this._list = host.parseQuery(s); }
    _update() { if (this._url) this._url._search = this._list.length ? "?" + this.toString() : ""; }
    get size() { return this._list.length; }
    append(k, v) { this._list.push([String(k), String(v)]); this._update(); }
    delete(k, v) {
      k = String(k);
      this._list = this._list.filter((p) => !(p[0] === k && (v === undefined || p[1] === String(v))));
      this._update();
    }
    get(k) {
      k = String(k);
      const l = this._list;
      for (let i = 0; i < l.length; i++) if (l[i][0] === k) return l[i][1];
      return null;
    }
    getAll(k) { k = String(k); return this._list.filter((p) => p[0] === k).map((p) => p[1]); }
    has(k, v) { k = String(k); return this._list.some((p) => p[0] === k && (v === undefined || p[1] === String(v))); }
    set(k, v) {
      k = String(k); v = String(v);
      const i = this._list.findIndex((p) => p[0] === k);
      if (i < 0) { this._list.push([k, v]); }
      else { this._list[i][1] = v; this._list = this._list.filter((p, j) => j <= i || p[0] !== k); }
      this._update();
    }
    sort() { this._list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); this._update(); }
    forEach(fn, thisArg) { for (const [k, v] of this._list) fn.call(thisArg, v, k, this); }
    *entries() { for (const p of this._list) yield [p[0], p[1]]; }
    *keys() { for (const p of this._list) yield p[0]; }
    *values() { for (const p of this._list) yield p[1]; }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this._list.map((p) => formEncode(p[0]) + "=" + formEncode(p[1])).join("&"); }
  }

  class URL {
    constructor(input, base) {
      const p = host.parseURL(String(input), base === undefined ? undefined : String(base));
      // Indexed, not destructured: goja's array destructuring walks the
      // iterator protocol, an object per element.
      this.protocol = p[0]; this.username = p[1]; this.password = p[2]; this.hostname = p[3];
      this.port = p[4]; this.pathname = p[5]; this._search = p[6]; this.hash = p[7];
      this._params = null;
    }
    get host() { return this.port ? this.hostname + ":" + this.port : this.hostname; }
    get origin() { return this.hostname ? this.protocol + "//" + this.host : "null"; }
    get search() { return this._search; }
    set search(s) {
      s = String(s);
      this._search = s === "" || s === "?" ? "" : (s[0] === "?" ? s : "?" + s);
      if (this._params) this._params._parse(this._search);
    }
    get searchParams() {
      if (!this._params) { this._params = new URLSearchParams(this._search); this._params._url = this; }
      return this._params;
    }
    get href() {
      const auth = this.username ? this.username + (this.password ? ":" + this.password : "") + "@" : "";
      const authority = this.hostname ? "//" + auth + this.host : "";
      return this.protocol + authority + this.pathname + this._search + this.hash;
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
  }

  class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(s) { return new Uint8Array(host.utf8Encode(s === undefined ? "" : String(s))); }
  }

  class TextDecoder {
    constructor(label) {
      const l = label === undefined ? "utf-8" : String(label).toLowerCase();
      if (l !== "utf-8" && l !== "utf8") throw new RangeError("TextDecoder: only utf-8 is supported, not " + label);
    }
    get encoding() { return "utf-8"; }
    decode(b) { return b === undefined ? "" : host.utf8Decode(toBuffer(b)); }
  }

  function format(args) {
    return Array.prototype.map.call(args, (a) => {
      if (typeof a === "string") return a;
      if (a instanceof Error) return a.stack || String(a);
      if (typeof a === "object" && a !== null) {
        try { return JSON.stringify(a); } catch (e) { return String(a); }
      }
      return String(a);
    }).join(" ");
  }
  const console = {
    log() { host.log(format(arguments)); },
    info() { host.log(format(arguments)); },
    debug() { host.log(format(arguments)); },
    warn() { host.log("warn: " + format(arguments)); },
    error() { host.log("error: " + format(arguments)); },
  };

  const listeners = [];
  function addEventListener(type, fn) {
    if (type !== "fetch") throw new TypeError('addEventListener: only "fetch" events exist here, not ' + JSON.stringify(type));
    if (typeof fn !== "function") throw new TypeError("addEventListener: the listener must be a function");
    listeners.push(fn);
    global.__edgeListeners = listeners.length;
  }

  class FetchEvent {
    constructor(request) { this.type = "fetch"; this.request = request; this._response = undefined; this._responded = false; }
    respondWith(r) {
      if (this._responded) throw new Error("respondWith: already called");
      this._responded = true; this._response = r;
    }
    waitUntil() {}
    passThroughOnException() {}
  }

  // fetch(input, init): an outbound request through the host (edge_v1
  // fetch), allowed only to the route's allowed_outbound_hosts. The host
  // answers before the call returns, so the promise is settled at once;
  // a refused host or a failure rejects it with a TypeError.
  function fetch(input, init) {
    try {
      const req = input instanceof Request && init === undefined ? input : new Request(input, init);
      const a = host.fetch(req.method, req.url, req.headers._flatPairs(), req._body);
      const r = new Response(a[2], { status: a[0] });
      r.headers._map = null;
      r.headers._raw = a[1];
      r.url = req.url;
      r.redirected = false;
      return Promise.resolve(r);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  global.__edgeListeners = 0;
  // dispatch runs the listeners for one request: head is [name, value,
  // ...] with names in lower case, hostHeader the Host header's value.
  function dispatch(method, uri, hostHeader, head, body) {
    const headers = new Headers();
    headers._raw = head;
    const req = Object.create(Request.prototype);
    req.method = method;
    req.url = "http://" + (hostHeader || "localhost") + uri;
    req.headers = headers;
    req._initBody(body.byteLength ? body : null);
    const ev = new FetchEvent(req);
    for (let i = 0; i < listeners.length && !ev._responded; i++) listeners[i].call(global, ev);
    if (!ev._responded) throw new Error("no fetch listener called event.respondWith");
    return ev._response;
  }
  global.__edgeDispatch = dispatch;

  // __edgeWarm runs the request path once, in init, with a listener of its
  // own in place of the script's: goja builds most builtins (prototypes
  // and their methods) on first use, and what it builds here is in the
  // snapshot instead of being built again by every request. The script's
  // listeners are put back and see nothing of it.
  global.__edgeWarm = function () {
    const saved = listeners.splice(0, listeners.length);
    listeners.push((e) => {
      const u = new URL(e.request.url);
      const q = u.searchParams;
      q.get("q"); q.getAll("r"); q.has("s"); q.set("t", "1"); q.append("u", "2"); q.delete("u"); q.sort();
      String(u); u.pathname; u.host; u.origin; u.search; u.hash; q.toString(); [...q]; q.forEach(() => {});
      new URL("../x?y=1#z", "https://user:pw@example.com:8443/a/b").href;
      const rh = e.request.headers;
      rh.get("host"); rh.has("x"); [...rh]; [...rh.keys()]; [...rh.values()];
      const h = new Headers({ "x-a": "1" });
      h.append("x-b", "2"); h.set("x-c", "3"); h.delete("x-c"); h.forEach(() => {}); h.getSetCookie();
      new Headers([["x-d", "4"]]); new Headers(h);
      new TextDecoder().decode(new TextEncoder().encode("caf\u00e9"));
      JSON.parse(JSON.stringify({ a: [1, "b", null, true], c: { d: 1.5 } }));
      Response.json({ a: 1 }, { status: 201 }).headers.get("content-type");
      Response.redirect("http://localhost/", 302).ok;
      new Response(new Uint8Array(1)).clone(); new Response(null, { status: 204 });
      new Request("http://localhost/r", { method: "post", headers: { a: "b" }, body: "x" }).clone().json().catch(() => {});
      "A b ".toLowerCase().toUpperCase().trim().split(" ").map((x) => x + 1).filter(Boolean).join(",");
      [3, 1, 2].sort().indexOf(2); Object.keys({ a: 1 }); Object.entries({ a: 1 }); Array.from([1]);
      (async () => { await null; })();
      e.respondWith(e.request.text().then((t) => new Response("hello " + t, { status: 200, headers: { "x-h": "v" } })));
    });
    try {
      return dispatch("POST", "/warm?q=1&r=a+b&s=%20", "localhost", ["host", "localhost", "content-type", "text/plain", "set-cookie", "a=b"], host.utf8Encode("body"));
    } finally {
      listeners.length = 0;
      for (const fn of saved) listeners.push(fn);
    }
  };
  global.__edgeFinish = function (r) {
    if (!(r instanceof Response)) throw new TypeError("respondWith needs a Response (or a Promise of one), got " + (r === null ? "null" : typeof r));
    return [r.status, r.headers._lines(), r._body];
  };

  const envObj = {};
  for (const [k, v] of Object.entries(host.env || {})) envObj[k] = v;
  define("env", Object.freeze(envObj));
  define("Headers", Headers);
  define("Request", Request);
  define("Response", Response);
  define("URL", URL);
  define("URLSearchParams", URLSearchParams);
  define("TextEncoder", TextEncoder);
  define("TextDecoder", TextDecoder);
  define("console", console);
  define("addEventListener", addEventListener);
  define("FetchEvent", FetchEvent);
  define("fetch", fetch);
  define("self", global);
  define("globalThis", global);
})(this);
