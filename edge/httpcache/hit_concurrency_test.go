package httpcache_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/edgecdn/edge/edge/httpcache"
)

// TestDiskBudgetSparesRecentlyRead: past the disk budget the least
// recently used entry goes; an entry read since it was stored stays, as
// in the memory tier (TestMemoryBudgetEvictsLRU).
func TestDiskBudgetSparesRecentlyRead(t *testing.T) {
	c, _ := httpcache.New(httpcache.Config{Store: openStore(t), MemoryObject: 1, DiskBytes: 250, Log: quiet})
	put(t, c, "h/a", strings.Repeat("a", 100))
	c.Close() // on disk (written in the background) before b is
	put(t, c, "h/b", strings.Repeat("b", 100))
	c.Close()
	read(t, c, "h/a")
	put(t, c, "h/c", strings.Repeat("c", 100))
	c.Close()
	if _, ok := read(t, c, "h/b"); ok {
		t.Error("b, least recently used, survived past the disk budget")
	}
	for _, k := range []string{"h/a", "h/c"} {
		if got, ok := read(t, c, k); !ok || got != strings.Repeat(k[2:], 100) {
			t.Errorf("%s: %q, %v", k, got, ok)
		}
	}
}

// TestHitsWhileEvictingAndPurging: hits mark their entries used while
// stores, evictions (which read and clear the marks) and soft and hard
// purges (which copy entries) change the cache. Run with -race; every hit
// must get its own key's body, whole.
func TestHitsWhileEvictingAndPurging(t *testing.T) {
	c, _ := httpcache.New(httpcache.Config{MemoryBytes: 40 * 100, Log: quiet})
	body := func(i int) string { return strings.Repeat(fmt.Sprint(i%10), 100) }
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				i := n % 60
				e, data := c.LookupBody([]byte(fmt.Sprintf("h/%d", i)), http.Header{})
				if e != nil && data != nil && string(data) != body(i) {
					t.Errorf("h/%d served %q", i, data[:10])
					return
				}
			}
		})
	}
	for n := range 3000 {
		i := n % 60
		c.Put(httpcache.NewEntry(fmt.Sprintf("h/%d", i), http.Header{}, response(body(i))), c.Epoch())
		if n%100 == 99 {
			c.Purge(httpcache.Purge{Prefix: fmt.Sprintf("h/%d", n%7), Soft: n%200 == 99})
		}
	}
	close(stop)
	wg.Wait()
	if c.Stats().Evicted.Load() == 0 {
		t.Error("nothing was evicted: the test did not exercise eviction")
	}
}

// BenchmarkLookupBodyParallel is a CDN's hot case: every core hitting
// one cached object at once, each hit holding the cache's lock.
//
//	go test -run '^$' -bench LookupBodyParallel -cpu 1,2,4 ./edge/httpcache/
func BenchmarkLookupBodyParallel(b *testing.B) {
	c, _ := httpcache.New(httpcache.Config{Log: quiet})
	c.Put(httpcache.NewEntry("h/hot", http.Header{}, response(strings.Repeat("x", 4096))), c.Epoch())
	key, req := []byte("h/hot"), http.Header{}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if e, _ := c.LookupBody(key, req); e == nil {
				b.Fatal("miss")
			}
		}
	})
}
