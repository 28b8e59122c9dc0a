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
		return vm.ToValue(parseQuery(c.Argument(0).String()))
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
	return vm.ToValue([]any{u.Scheme + ":", user, pass, strings.ToLower(u.Hostname()), port, path, search, hash})
}

// parseQuery splits an application/x-www-form-urlencoded string into
// [name, value, name, value, ...], leaving malformed escapes as they are
// (as the URL standard does, unlike url.ParseQuery).
func parseQuery(q string) []any {
	q = strings.TrimPrefix(q, "?")
	out := []any{}
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		out = append(out, formDecode(k), formDecode(v))
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

// reseed gives Math.random a fresh generator for this request: the one
// goja set up in init is in the snapshot, and would repeat its sequence
// in every request.
func reseed() {
	var seed [32]byte
	crand.Read(seed[:])
	r := mrand.New(mrand.NewChaCha8(seed))
	vm.SetRandSource(r.Float64)
}
