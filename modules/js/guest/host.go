//go:build wasip1

package main

import (
	crand "crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"strings"

	"github.com/dop251/goja"
)

// installHost defines __edge, the native helpers prelude.js builds the
// Web APIs on; the prelude captures it and removes it from the global
// object, so scripts never see it.
func installHost(vm *goja.Runtime) {
	h := vm.NewObject()
	set := func(name string, fn func(goja.FunctionCall) goja.Value) {
		if err := h.Set(name, fn); err != nil {
			panic(err)
		}
	}
	set("log", func(c goja.FunctionCall) goja.Value {
		line := c.Argument(0).String()
		if inRequest {
			logLine(line)
		} else {
			fmt.Fprintln(os.Stderr, line)
		}
		return goja.Undefined()
	})
	set("utf8Encode", func(c goja.FunctionCall) goja.Value {
		return vm.ToValue(vm.NewArrayBuffer([]byte(c.Argument(0).String())))
	})
	set("utf8Decode", func(c goja.FunctionCall) goja.Value {
		return vm.ToValue(string(bytesOf(c.Argument(0))))
	})
	set("parseURL", func(c goja.FunctionCall) goja.Value {
		return parseURL(vm, c.Argument(0).String(), c.Argument(1))
	})
	set("parseQuery", func(c goja.FunctionCall) goja.Value {
		pairs := parseQuery(c.Argument(0).String())
		list := make([]any, len(pairs))
		for i, p := range pairs {
			list[i] = vm.NewArray(p[0], p[1])
		}
		return vm.NewArray(list...)
	})
	set("fetch", func(c goja.FunctionCall) goja.Value {
		return outboundFetch(vm, c.Argument(0).String(), c.Argument(1).String(), c.Argument(2), bytesOf(c.Argument(3)))
	})
	set("headerName", func(c goja.FunctionCall) goja.Value {
		return vm.ToValue(headerName(vm, c.Argument(0)))
	})
	set("headerValue", func(c goja.FunctionCall) goja.Value {
		return vm.ToValue(headerValue(vm, c.Argument(0).String(), c.Argument(1)))
	})
	env := map[string]any{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	if err := h.Set("env", env); err != nil {
		panic(err)
	}
	if err := vm.Set("__edge", h); err != nil {
		panic(err)
	}
}

// bytesOf returns the bytes of an ArrayBuffer (prelude.js passes views
// as their own ArrayBuffer slice).
func bytesOf(v goja.Value) []byte {
	if ab, ok := v.Export().(goja.ArrayBuffer); ok {
		return ab.Bytes()
	}
	return nil
}

// parseURL resolves input against base (when given) and returns the
// parts [href, protocol, username, password, hostname, port, pathname,
// search, hash], or throws TypeError for a URL that is not absolute.
func parseURL(vm *goja.Runtime, input string, base goja.Value) goja.Value {
	u, err := url.Parse(strings.TrimSpace(input))
	if err == nil && base != nil && !goja.IsUndefined(base) {
		var b *url.URL
		if b, err = url.Parse(strings.TrimSpace(base.String())); err == nil {
			if !b.IsAbs() {
				err = fmt.Errorf("base %q is not absolute", base.String())
			} else {
				u = b.ResolveReference(u)
			}
		}
	}
	if err == nil && !u.IsAbs() {
		err = fmt.Errorf("%q is not absolute", input)
	}
	if err != nil {
		panic(vm.NewTypeError("Invalid URL: %v", err))
	}
	path := u.EscapedPath()
	if u.Opaque != "" {
		path = u.Opaque
	} else if path == "" && (u.Host != "" || u.Scheme == "http" || u.Scheme == "https") {
		path = "/"
	}
	search, hash := "", ""
	if u.RawQuery != "" {
		search = "?" + u.RawQuery
	}
	if f := u.EscapedFragment(); f != "" {
		hash = "#" + f
	}
	user, pass := "", ""
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	port := u.Port()
	if port == "80" && u.Scheme == "http" || port == "443" && u.Scheme == "https" {
		port = ""
	}
	return vm.NewArray(u.Scheme+":", user, pass, strings.ToLower(u.Hostname()), port, path, search, hash)
}

// parseQuery splits an application/x-www-form-urlencoded string into
// name, value pairs, leaving malformed escapes as they are (as the URL
// standard does, unlike url.ParseQuery).
func parseQuery(q string) [][2]string {
	q = strings.TrimPrefix(q, "?")
	var out [][2]string
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		out = append(out, [2]string{formDecode(k), formDecode(v)})
	}
	return out
}

func formDecode(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && unhex(s[i+1]) >= 0 && unhex(s[i+2]) >= 0:
			b = append(b, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// requestRand is this request's Math.random generator, made on its first
// use; nil in the snapshot, so every request starts without one.
var requestRand func() float64

// lazyRand is Math.random's source once init is done: a generator seeded
// from the host's randomness (WASI random_get) the first time a request
// calls Math.random. The generator goja set up in init is in the snapshot
// and would repeat its sequence in every request; seeding every request
// up front cost ~3 % of a hello that never calls Math.random.
func lazyRand() float64 {
	if requestRand == nil {
		var seed [32]byte
		crand.Read(seed[:])
		requestRand = mrand.New(mrand.NewChaCha8(seed)).Float64
	}
	return requestRand()
}

// headerName checks a header name (an HTTP token) and returns it in lower
// case; it throws TypeError for anything else.
func headerName(vm *goja.Runtime, v goja.Value) string {
	name := v.String()
	lower := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isTokenChar(c) {
			panic(vm.NewTypeError("Headers: invalid header name %q", name))
		}
		if 'A' <= c && c <= 'Z' {
			lower = false
		}
	}
	if name == "" {
		panic(vm.NewTypeError("Headers: invalid header name %q", name))
	}
	if lower {
		return name
	}
	return strings.ToLower(name)
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// headerValue returns a header value with JavaScript's trim() applied; it
// throws TypeError for a value holding CR, LF or NUL, which would split
// or end the header line.
func headerValue(vm *goja.Runtime, name string, v goja.Value) string {
	value := strings.TrimFunc(v.String(), isJSSpace)
	if strings.ContainsAny(value, "\r\n\x00") {
		panic(vm.NewTypeError("Headers: invalid value for %s", name))
	}
	return value
}

// isJSSpace is what String.prototype.trim removes: WhiteSpace and
// LineTerminator of ECMA-262.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return 0x2000 <= r && r <= 0x200a
}
