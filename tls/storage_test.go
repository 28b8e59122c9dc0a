package edgetls_test

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecdn/edge/cache"
	edgetls "github.com/edgecdn/edge/tls"
)

// openStore opens (or reopens) the bbolt file at path; it is closed when
// the test ends unless the test closes it first.
func openStore(t *testing.T, path string) *cache.Cache {
	t.Helper()
	c, err := cache.Open(path, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newStorage(t *testing.T) *edgetls.Storage {
	t.Helper()
	return edgetls.NewStorage(openStore(t, filepath.Join(t.TempDir(), "edge.db")), edgetls.StorageConfig{})
}

func TestStorageContract(t *testing.T) {
	ctx := context.Background()
	s := newStorage(t)
	files := map[string]string{
		"certificates/ca/a.example/a.example.crt": "A-CRT",
		"certificates/ca/a.example/a.example.key": "A-KEY",
		"certificates/ca/b.example/b.example.crt": "B-CRT",
		"acme/ca/users/me/me.json":                "ACCOUNT",
		"last_clean.json":                         "{}",
	}
	for k, v := range files {
		if err := s.Store(ctx, k, []byte(v)); err != nil {
			t.Fatalf("Store(%s): %v", k, err)
		}
	}
	for k, v := range files {
		if got, err := s.Load(ctx, k); err != nil || string(got) != v {
			t.Errorf("Load(%s) = %q, %v; want %q", k, got, err, v)
		}
	}
	t.Run("load missing", func(t *testing.T) {
		for _, k := range []string{"nope", "certificates/ca", "certificates/ca/a.example/a.example"} {
			if _, err := s.Load(ctx, k); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Load(%s) error %v, want fs.ErrNotExist", k, err)
			}
		}
	})
	t.Run("exists", func(t *testing.T) {
		for k, want := range map[string]bool{
			"certificates/ca/a.example/a.example.crt": true, "certificates/ca/a.example": true,
			"certificates": true, "certificates/c": false, "nope": false, "certificates/ca/a.exam": false,
		} {
			if got := s.Exists(ctx, k); got != want {
				t.Errorf("Exists(%s) = %v, want %v", k, got, want)
			}
		}
	})
	lists := []struct {
		dir       string
		recursive bool
		want      []string
	}{
		{"certificates/ca", false, []string{"certificates/ca/a.example", "certificates/ca/b.example"}},
		{"certificates/ca/a.example", false, []string{"certificates/ca/a.example/a.example.crt", "certificates/ca/a.example/a.example.key"}},
		{"certificates", true, []string{
			"certificates/ca", "certificates/ca/a.example", "certificates/ca/a.example/a.example.crt",
			"certificates/ca/a.example/a.example.key", "certificates/ca/b.example", "certificates/ca/b.example/b.example.crt"}},
		{"", false, []string{"acme", "certificates", "last_clean.json"}},
	}
	for _, l := range lists {
		got, err := s.List(ctx, l.dir, l.recursive)
		if err != nil || !slices.Equal(got, l.want) {
			t.Errorf("List(%q, %v) = %q, %v; want %q", l.dir, l.recursive, got, err, l.want)
		}
	}
	if _, err := s.List(ctx, "certificates/zzz", true); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List of a missing dir: %v, want fs.ErrNotExist", err)
	}
	t.Run("stat", func(t *testing.T) {
		ki, err := s.Stat(ctx, "certificates/ca/a.example/a.example.key")
		if err != nil || !ki.IsTerminal || ki.Size != int64(len("A-KEY")) || time.Since(ki.Modified) > time.Hour || ki.Modified.After(time.Now()) {
			t.Errorf("Stat(file) = %+v, %v", ki, err)
		}
		if ki, err := s.Stat(ctx, "certificates/ca"); err != nil || ki.IsTerminal {
			t.Errorf("Stat(dir) = %+v, %v; want a non-terminal key", ki, err)
		}
		if _, err := s.Stat(ctx, "nope"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(missing) = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		if err := s.Delete(ctx, "certificates/ca/a.example"); err != nil {
			t.Fatal(err)
		}
		if s.Exists(ctx, "certificates/ca/a.example/a.example.key") || s.Exists(ctx, "certificates/ca/a.example") {
			t.Errorf("a directory's keys survived its Delete")
		}
		if !s.Exists(ctx, "certificates/ca/b.example/b.example.crt") {
			t.Errorf("Delete of a directory removed a sibling")
		}
		if err := s.Delete(ctx, "certificates/ca/a.example"); err != nil {
			t.Errorf("Delete of a missing key: %v, want nil", err)
		}
		if err := s.Delete(ctx, "last_clean.json"); err != nil || s.Exists(ctx, "last_clean.json") {
			t.Errorf("Delete(file): %v, exists after: %v", err, s.Exists(ctx, "last_clean.json"))
		}
	})
}

func TestStorageLockExcludes(t *testing.T) {
	ctx := context.Background()
	s := newStorage(t)
	var inside, overlaps atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := s.Lock(ctx, "issue_cert_a.example"); err != nil {
				t.Error(err)
				return
			}
			if inside.Add(1) > 1 {
				overlaps.Add(1)
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			if err := s.Unlock(ctx, "issue_cert_a.example"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := overlaps.Load(); n > 0 {
		t.Errorf("%d times two holders were inside the lock at once", n)
	}
	// A held lock does not hold other names.
	if err := s.Lock(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.TryLock(ctx, "b"); !ok || err != nil {
		t.Errorf("TryLock(b) while a is held = %v, %v", ok, err)
	}
	if ok, _ := s.TryLock(ctx, "a"); ok {
		t.Errorf("TryLock(a) succeeded while a is held")
	}
	if err := s.Unlock(ctx, "never-locked"); !errors.Is(err, edgetls.ErrLockLost) {
		t.Errorf("Unlock of a lock never taken: %v, want ErrLockLost", err)
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// A node that died holding a lock (its process gone, the bbolt file
// reopened by the next one) blocks the lock only until the lease ends.
func TestStorageLockOfDeadHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "edge.db")
	clock := &fakeClock{now: time.Now()}
	cfg := edgetls.StorageConfig{Lease: time.Minute, Now: clock.Now}

	first := openStore(t, path)
	if err := edgetls.NewStorage(first, cfg).Lock(context.Background(), "issue_cert_a.example"); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil { // the holder dies without Unlock
		t.Fatal(err)
	}
	next := edgetls.NewStorage(openStore(t, path), cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := next.Lock(ctx, "issue_cert_a.example"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock within the dead holder's lease: %v, want it to wait until the deadline", err)
	}
	clock.Add(time.Minute + time.Second)
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := next.Lock(ctx, "issue_cert_a.example"); err != nil {
		t.Fatalf("Lock after the dead holder's lease ended: %v", err)
	}
	if err := next.Unlock(ctx, "issue_cert_a.example"); err != nil {
		t.Fatal(err)
	}
}

// A holder whose lease ran out and was taken over cannot release the new
// holder's lock.
func TestStorageUnlockAfterTakeover(t *testing.T) {
	ctx := context.Background()
	c := openStore(t, filepath.Join(t.TempDir(), "edge.db"))
	clock := &fakeClock{now: time.Now()}
	cfg := edgetls.StorageConfig{Lease: time.Minute, Now: clock.Now}
	slow, fast := edgetls.NewStorage(c, cfg), edgetls.NewStorage(c, cfg)
	if err := slow.Lock(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	clock.Add(2 * time.Minute)
	if err := fast.Lock(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := slow.RenewLockLease(ctx, "x", time.Minute); !errors.Is(err, edgetls.ErrLockLost) {
		t.Errorf("RenewLockLease by the old holder: %v, want ErrLockLost", err)
	}
	if err := slow.Unlock(ctx, "x"); !errors.Is(err, edgetls.ErrLockLost) {
		t.Errorf("Unlock by the old holder: %v, want ErrLockLost", err)
	}
	if ok, _ := slow.TryLock(ctx, "x"); ok {
		t.Errorf("the old holder's Unlock released the new holder's lock")
	}
	if err := fast.Unlock(ctx, "x"); err != nil {
		t.Errorf("Unlock by the new holder: %v", err)
	}
}
