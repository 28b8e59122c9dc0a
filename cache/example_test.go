package cache_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgecdn/edge/cache"
)

// Store a file as a content-addressed blob, then serve part of it the way
// a Range request would: seek, and read only what is needed.
func ExampleCache_OpenBlob() {
	dir, err := os.MkdirTemp("", "cache-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	c, err := cache.Open(filepath.Join(dir, "cache.db"), cache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	d, n, err := c.PutBlob(strings.NewReader("hello, edge"), 1<<20)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d, n)

	r, err := c.OpenBlob(d)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := r.Seek(7, io.SeekStart); err != nil {
		log.Fatal(err)
	}
	tail, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d bytes, from 7: %q\n", r.Size(), tail)
	// Output:
	// 46bb9ee5ae7248c554b6345d49ea3b13e1c07a611c25671317a2163c31373d76 11
	// 11 bytes, from 7: "edge"
}

// A blob fetched by digest is verified as it is stored: bytes that do not
// hash to the digest asked for are refused and not kept.
func ExampleCache_PutBlobVerified() {
	dir, err := os.MkdirTemp("", "cache-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	c, err := cache.Open(filepath.Join(dir, "cache.db"), cache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	want := cache.Sum([]byte("the real module"))
	_, err = c.PutBlobVerified(strings.NewReader("a tampered module"), want, 0)
	fmt.Println(errors.Is(err, cache.ErrDigestMismatch), c.HasBlob(want))

	n, err := c.PutBlobVerified(strings.NewReader("the real module"), want, 0)
	fmt.Println(n, err, c.HasBlob(want))
	// Output:
	// true false
	// 15 <nil> true
}
