package cache_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/edgecdn/edge/cache"
)

func TestKVNamespaces(t *testing.T) {
	c, path := newCache(t, cache.Options{})
	certs, state := c.KV("certmagic"), c.KV("state")
	puts := []struct {
		kv         *cache.KV
		key, value string
	}{
		{certs, "certs/a.example/cert", "A-CERT"},
		{certs, "certs/a.example/key", "A-KEY"},
		{certs, "certs/b.example/cert", "B-CERT"},
		{certs, "locks/a.example", "held"},
		{certs, "certs", "bare"},
		{state, "certs/a.example/cert", "other namespace"},
		{state, "counter", "7"},
	}
	for _, p := range puts {
		if err := p.kv.Put(p.key, []byte(p.value)); err != nil {
			t.Fatalf("Put(%q): %v", p.key, err)
		}
	}
	for _, p := range puts {
		if got, err := p.kv.Get(p.key); err != nil || string(got) != p.value {
			t.Errorf("Get(%q) = %q, %v; want %q", p.key, got, err, p.value)
		}
	}

	lists := []struct {
		name   string
		kv     *cache.KV
		prefix string
		want   []string
	}{
		{"all of certmagic", certs, "", []string{"certs", "certs/a.example/cert", "certs/a.example/key", "certs/b.example/cert", "locks/a.example"}},
		{"a directory", certs, "certs/", []string{"certs/a.example/cert", "certs/a.example/key", "certs/b.example/cert"}},
		{"a partial name", certs, "certs/a", []string{"certs/a.example/cert", "certs/a.example/key"}},
		{"an exact key is its own prefix", certs, "locks/a.example", []string{"locks/a.example"}},
		{"no match", certs, "zzz", nil},
		{"no match before the first key", certs, "a", nil},
		{"other namespace", state, "certs/", []string{"certs/a.example/cert"}},
		{"namespace never written", c.KV("empty"), "", nil},
	}
	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			got, err := l.kv.List(l.prefix)
			if err != nil || !slices.Equal(got, l.want) {
				t.Errorf("List(%q) = %q, %v; want %q", l.prefix, got, err, l.want)
			}
		})
	}

	// Delete touches only its namespace.
	if err := certs.Delete("certs/a.example/cert"); err != nil {
		t.Fatal(err)
	}
	if _, err := certs.Get("certs/a.example/cert"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if got, err := state.Get("certs/a.example/cert"); err != nil || string(got) != "other namespace" {
		t.Errorf("the same key in another namespace after Delete = %q, %v", got, err)
	}
	for _, del := range []struct {
		kv  *cache.KV
		key string
	}{{certs, "certs/a.example/cert"}, {certs, "never"}, {c.KV("never"), "k"}} {
		if err := del.kv.Delete(del.key); err != nil {
			t.Errorf("Delete of a missing key %q: %v", del.key, err)
		}
	}

	// It all survives a restart.
	closeCache(t, c)
	c = openCache(t, path, cache.Options{})
	got, err := c.KV("certmagic").List("certs/")
	if want := []string{"certs/a.example/key", "certs/b.example/cert"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("List after reopen = %q, %v; want %q", got, err, want)
	}
	if v, err := c.KV("state").Get("counter"); err != nil || string(v) != "7" {
		t.Errorf("Get after reopen = %q, %v", v, err)
	}
	s, err := c.Stats()
	if err != nil || s.KVNamespaces != 2 {
		t.Errorf("Stats().KVNamespaces = %d, %v; want 2", s.KVNamespaces, err)
	}
}

func TestKVGetMissing(t *testing.T) {
	c, _ := newCache(t, cache.Options{})
	if err := c.KV("ns").Put("present", []byte("x")); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ ns, key string }{
		{"ns", "absent"},
		{"ns", "presen"},
		{"ns", "present/"},
		{"ns", ""},
		{"other", "present"},
	}
	for _, tc := range cases {
		if v, err := c.KV(tc.ns).Get(tc.key); !errors.Is(err, cache.ErrNotFound) || v != nil {
			t.Errorf("Get(%s/%q) = %q, %v; want ErrNotFound", tc.ns, tc.key, v, err)
		}
	}
}

func TestKVValuesAreCopies(t *testing.T) {
	c, _ := newCache(t, cache.Options{})
	kv := c.KV("ns")
	in := []byte("original value")
	if err := kv.Put("k", in); err != nil {
		t.Fatal(err)
	}
	copy(in, "XXXXXXXX") // the caller reuses its buffer
	got, err := kv.Get("k")
	if err != nil || string(got) != "original value" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	copy(got, "YYYYYYYY")
	again, err := kv.Get("k")
	if err != nil || string(again) != "original value" {
		t.Fatalf("Get after mutating an earlier result = %q, %v", again, err)
	}
}

func TestKVEmptyValue(t *testing.T) {
	c, _ := newCache(t, cache.Options{})
	kv := c.KV("ns")
	if err := kv.Put("empty", nil); err != nil {
		t.Fatal(err)
	}
	if err := kv.Put("also-empty", []byte{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"empty", "also-empty"} {
		if v, err := kv.Get(k); err != nil || len(v) != 0 {
			t.Errorf("Get(%q) = %q, %v; want an empty value", k, v, err)
		}
	}
	if keys, err := kv.List(""); err != nil || len(keys) != 2 {
		t.Errorf("List = %q, %v", keys, err)
	}
}

func TestKVOverwrite(t *testing.T) {
	c, _ := newCache(t, cache.Options{})
	kv := c.KV("ns")
	for _, v := range []string{"one", "a much longer second value", "3"} {
		if err := kv.Put("k", []byte(v)); err != nil {
			t.Fatal(err)
		}
		if got, err := kv.Get("k"); err != nil || !bytes.Equal(got, []byte(v)) {
			t.Errorf("Get after Put(%q) = %q, %v", v, got, err)
		}
	}
}

func TestKVUpdate(t *testing.T) {
	c, _ := newCache(t, cache.Options{})
	kv := c.KV("locks")
	steps := []struct {
		name    string
		fn      func(old []byte) ([]byte, error)
		want    string // "" means absent
		wantErr bool
	}{
		{"create from absent", func(old []byte) ([]byte, error) {
			if old != nil {
				return nil, errors.New("old should be nil")
			}
			return []byte("a"), nil
		}, "a", false},
		{"replace", func(old []byte) ([]byte, error) { return append(old, 'b'), nil }, "ab", false},
		{"error aborts", func([]byte) ([]byte, error) { return nil, errors.New("no") }, "ab", true},
		{"nil deletes", func([]byte) ([]byte, error) { return nil, nil }, "", false},
	}
	for _, st := range steps {
		err := kv.Update("k", st.fn)
		if (err != nil) != st.wantErr {
			t.Fatalf("%s: err %v", st.name, err)
		}
		got, gerr := kv.Get("k")
		if st.want == "" && !errors.Is(gerr, cache.ErrNotFound) || st.want != "" && string(got) != st.want {
			t.Fatalf("%s: Get = %q, %v; want %q", st.name, got, gerr, st.want)
		}
	}
}
