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

  const tokenRE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const badValueRE = /[\r\n\0]/;

  class Headers {
    constructor(init) {
      this._map = new Map(); // lower-case name -> [values]
      if (init === undefined || init === null) return;
      if (init instanceof Headers) {
        for (const [k, v] of init._map) this._map.set(k, v.slice());
      } else if (typeof init[Symbol.iterator] === "function") {
        for (const pair of init) {
          if (pair.length !== 2) throw new TypeError("Headers: each pair needs a name and a value");
          this.append(pair[0], pair[1]);
        }
      } else {
        for (const k of Object.keys(init)) this.append(k, init[k]);
      }
    }
    static _check(name, value) {
      name = String(name);
      if (!tokenRE.test(name)) throw new TypeError("Headers: invalid header name " + JSON.stringify(name));
      if (value !== undefined) {
        value = String(value).trim();
        if (badValueRE.test(value)) throw new TypeError("Headers: invalid value for " + name);
      }
      return [name.toLowerCase(), value];
    }
    append(name, value) {
      const [k, v] = Headers._check(name, value);
      const vs = this._map.get(k);
      if (vs) vs.push(v); else this._map.set(k, [v]);
    }
    set(name, value) {
      const [k, v] = Headers._check(name, value);
      this._map.set(k, [v]);
    }
    get(name) {
      const vs = this._map.get(String(name).toLowerCase());
      return vs ? vs.join(", ") : null;
    }
    getSetCookie() { return (this._map.get("set-cookie") || []).slice(); }
    has(name) { return this._map.has(String(name).toLowerCase()); }
    delete(name) { this._map.delete(String(name).toLowerCase()); }
    forEach(fn, thisArg) { for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this); }
    *entries() {
      const names = Array.from(this._map.keys()).sort();
      for (const k of names) {
        if (k === "set-cookie") { for (const v of this._map.get(k)) yield [k, v]; }
        else yield [k, this._map.get(k).join(", ")];
      }
    }
    *keys() { for (const [k] of this.entries()) yield k; }
    *values() { for (const [, v] of this.entries()) yield v; }
    [Symbol.iterator]() { return this.entries(); }
    _flat() {
      const out = [];
      for (const [k, vs] of this._map) for (const v of vs) out.push(k, v);
      return out;
    }
  }

  // Body is what Request and Response share: the body read once.
  class Body {
    _initBody(body) { this._body = toBuffer(body); this.bodyUsed = false; }
    _take() {
      if (this.bodyUsed) return Promise.reject(new TypeError("Body has already been used"));
      this.bodyUsed = true;
      return Promise.resolve(this._body || new ArrayBuffer(0));
    }
    arrayBuffer() { return this._take(); }
    bytes() { return this._take().then((b) => new Uint8Array(b)); }
    text() { return this._take().then((b) => host.utf8Decode(b)); }
    json() { return this.text().then((t) => JSON.parse(t)); }
    get body() { return this._body; }
  }

  class Request extends Body {
    constructor(input, init) {
      super();
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

  class Response extends Body {
    constructor(body, init) {
      super();
      init = init || {};
      const status = init.status === undefined ? 200 : Number(init.status);
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new RangeError("Response: status " + init.status + " is not in 200-599");
      }
      this.status = status;
      this.statusText = init.statusText === undefined ? "" : String(init.statusText);
      this.headers = new Headers(init.headers);
      this._initBody(body);
      if (typeof body === "string" && !this.headers.has("content-type")) {
        this.headers.set("content-type", "text/plain;charset=UTF-8");
      }
      if (body instanceof URLSearchParams && !this.headers.has("content-type")) {
        this.headers.set("content-type", "application/x-www-form-urlencoded;charset=UTF-8");
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
    _parse(s) {
      const flat = host.parseQuery(s);
      this._list = [];
      for (let i = 0; i + 1 < flat.length; i += 2) this._list.push([flat[i], flat[i + 1]]);
    }
    _update() { if (this._url) this._url._search = this._list.length ? "?" + this.toString() : ""; }
    get size() { return this._list.length; }
    append(k, v) { this._list.push([String(k), String(v)]); this._update(); }
    delete(k, v) {
      k = String(k);
      this._list = this._list.filter((p) => !(p[0] === k && (v === undefined || p[1] === String(v))));
      this._update();
    }
    get(k) { k = String(k); const p = this._list.find((p) => p[0] === k); return p ? p[1] : null; }
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
      [this.protocol, this.username, this.password, this.hostname, this.port, this.pathname, this._search, this.hash] = p;
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

  global.__edgeListeners = 0;
  global.__edgeDispatch = function (method, uri, head, body) {
    const headers = new Headers();
    for (let i = 0; i + 1 < head.length; i += 2) headers._map.has(head[i].toLowerCase()) ? headers._map.get(head[i].toLowerCase()).push(head[i + 1]) : headers._map.set(head[i].toLowerCase(), [head[i + 1]]);
    const req = Object.create(Request.prototype);
    req.method = method;
    req.url = "http://" + (headers.get("host") || "localhost") + uri;
    req.headers = headers;
    req._initBody(body.byteLength ? body : null);
    const ev = new FetchEvent(req);
    for (const fn of listeners) {
      fn.call(global, ev);
      if (ev._responded) break;
    }
    if (!ev._responded) throw new Error("no fetch listener called event.respondWith");
    return ev._response;
  };
  global.__edgeFinish = function (r) {
    if (!(r instanceof Response)) throw new TypeError("respondWith needs a Response (or a Promise of one), got " + (r === null ? "null" : typeof r));
    return [r.status, r.headers._flat(), r._body];
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
  define("self", global);
  define("globalThis", global);
})(this);
