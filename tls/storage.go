package edgetls

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/edgecdn/edge/cache"
)

// Namespaces of the cache's KV area used by [Storage].
const (
	StorageNamespace = "certmagic"       // certificates, keys, ACME accounts
	LockNamespace    = "certmagic-locks" // lock leases, never listed
)

// DefaultLockLease is how long a lock stays held without being renewed: a
// holder that died blocks others for at most this long. Holders renew it
// every third of it.
const DefaultLockLease = time.Minute

// lockPoll is how often a waiting Lock looks again at a held lock.
const lockPoll = 100 * time.Millisecond

// ErrLockLost is returned by Unlock and RenewLockLease when the lock is no
// longer ours: its lease ran out and another holder took it.
var ErrLockLost = errors.New("edgetls: lock lease lost")

// StorageConfig configures a Storage. Zero fields take the defaults.
type StorageConfig struct {
	// Lease is how long a lock survives its holder; DefaultLockLease.
	Lease time.Duration
	// Now is the clock leases are judged by; time.Now. A seam for tests.
	Now func() time.Time
}

// Storage is certmagic's storage on the node's bbolt file: certificates,
// their private keys and the ACME account live in the KV area of the cache
// and nowhere else. Values carry their modification time.
//
// Locks are leases recorded in the same file: a lock names a random token
// and an expiry, renewed while held. The bbolt file belongs to one process,
// so a lock still recorded after a crash is a dead holder's: it stops
// counting when its lease runs out.
type Storage struct {
	data, locks *cache.KV
	lease       time.Duration
	now         func() time.Time

	mu   sync.Mutex
	held map[string]*heldLock // by lock name: the locks this Storage holds
}

type heldLock struct {
	token string
	stop  chan struct{}
}

// lockRecord is what a lock's key holds.
type lockRecord struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// NewStorage returns the storage on c. It has no side effects.
func NewStorage(c *cache.Cache, cfg StorageConfig) *Storage {
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLockLease
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Storage{
		data: c.KV(StorageNamespace), locks: c.KV(LockNamespace),
		lease: cfg.Lease, now: cfg.Now, held: map[string]*heldLock{},
	}
}

// cleanKey drops surrounding slashes: certmagic joins keys with "/".
func cleanKey(key string) string { return strings.Trim(key, "/") }

// Store puts value at key with the current time.
func (s *Storage) Store(_ context.Context, key string, value []byte) error {
	key = cleanKey(key)
	if key == "" {
		return errors.New("edgetls: storage: empty key")
	}
	rec := make([]byte, 8+len(value))
	binary.BigEndian.PutUint64(rec, uint64(s.now().UnixNano()))
	copy(rec[8:], value)
	if err := s.data.Put(key, rec); err != nil {
		return fmt.Errorf("edgetls: storage: store %s: %w", key, err)
	}
	return nil
}

// load returns the record at key: its time and value.
func (s *Storage) load(key string) (time.Time, []byte, error) {
	rec, err := s.data.Get(key)
	if errors.Is(err, cache.ErrNotFound) {
		return time.Time{}, nil, fmt.Errorf("edgetls: storage: %s: %w", key, fs.ErrNotExist)
	}
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("edgetls: storage: load %s: %w", key, err)
	}
	if len(rec) < 8 {
		return time.Time{}, nil, fmt.Errorf("edgetls: storage: %s: record of %d bytes is damaged", key, len(rec))
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(rec))), rec[8:], nil
}

// Load returns the value at key; an error wrapping fs.ErrNotExist when
// there is none.
func (s *Storage) Load(_ context.Context, key string) ([]byte, error) {
	_, v, err := s.load(cleanKey(key))
	return v, err
}

// below lists the stored keys under dir ("" is the root), in order.
func (s *Storage) below(dir string) ([]string, error) {
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	keys, err := s.data.List(prefix)
	if err != nil {
		return nil, fmt.Errorf("edgetls: storage: list %s: %w", dir, err)
	}
	return keys, nil
}

// Delete removes key and, when key is a directory, every key under it. A
// missing key is not an error.
func (s *Storage) Delete(_ context.Context, key string) error {
	key = cleanKey(key)
	keys, err := s.below(key)
	if err != nil {
		return err
	}
	if key != "" {
		keys = append(keys, key)
	}
	for _, k := range keys {
		if err := s.data.Delete(k); err != nil {
			return fmt.Errorf("edgetls: storage: delete %s: %w", k, err)
		}
	}
	return nil
}

// Exists reports whether key is stored or is a directory of stored keys.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// List returns the keys in dir: its direct children (files and
// directories), or with recursive every key and directory beneath it. An
// empty or missing directory is fs.ErrNotExist, as for certmagic's
// FileStorage.
func (s *Storage) List(_ context.Context, dir string, recursive bool) ([]string, error) {
	dir = cleanKey(dir)
	keys, err := s.below(dir)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("edgetls: storage: list %s: %w", dir, fs.ErrNotExist)
	}
	seen := map[string]bool{}
	var out []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	skip := len(dir)
	if dir != "" {
		skip++
	}
	for _, k := range keys {
		parts := strings.Split(k[skip:], "/")
		if !recursive {
			parts = parts[:1]
		}
		for i := range parts {
			add(joinKey(dir, strings.Join(parts[:i+1], "/")))
		}
	}
	slices.Sort(out)
	return out, nil
}

func joinKey(dir, rest string) string {
	if dir == "" {
		return rest
	}
	return dir + "/" + rest
}

// Stat describes key: a stored value (terminal) or a directory of them.
func (s *Storage) Stat(_ context.Context, key string) (certmagic.KeyInfo, error) {
	key = cleanKey(key)
	mod, v, err := s.load(key)
	if err == nil {
		return certmagic.KeyInfo{Key: key, Modified: mod, Size: int64(len(v)), IsTerminal: true}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return certmagic.KeyInfo{}, err
	}
	if key != "" {
		if keys, lerr := s.below(key); lerr == nil && len(keys) > 0 {
			return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
		}
	}
	return certmagic.KeyInfo{}, err
}

// Lock takes the named lock, waiting while another holder's lease is
// current, until ctx ends. The lease is renewed in the background until
// Unlock.
func (s *Storage) Lock(ctx context.Context, name string) error {
	for {
		ok, err := s.TryLock(ctx, name)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("edgetls: lock %s: %w", name, context.Cause(ctx))
		case <-time.After(lockPoll):
		}
	}
}

// TryLock takes the named lock if it is free or its lease ran out.
func (s *Storage) TryLock(ctx context.Context, name string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if s.lockedElsewhere(name) {
		return false, nil
	}
	token := newToken()
	taken := false
	err := s.locks.Update(name, func(old []byte) ([]byte, error) {
		if cur, ok := parseLock(old); ok && s.now().Before(cur.Expires) {
			return old, nil
		}
		taken = true
		return json.Marshal(lockRecord{Token: token, Expires: s.now().Add(s.lease)})
	})
	if err != nil {
		return false, fmt.Errorf("edgetls: lock %s: %w", name, err)
	}
	if !taken {
		return false, nil
	}
	h := &heldLock{token: token, stop: make(chan struct{})}
	s.mu.Lock()
	s.held[name] = h
	s.mu.Unlock()
	go s.keepLease(name, h)
	return true, nil
}

// lockedElsewhere is a read-only look first, so that waiting for a held
// lock costs no write transactions.
func (s *Storage) lockedElsewhere(name string) bool {
	old, err := s.locks.Get(name)
	if err != nil {
		return false
	}
	cur, ok := parseLock(old)
	return ok && s.now().Before(cur.Expires)
}

func parseLock(b []byte) (lockRecord, bool) {
	var r lockRecord
	if b == nil || json.Unmarshal(b, &r) != nil {
		return r, false // a damaged record holds nothing
	}
	return r, true
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// keepLease renews a held lock every third of its lease until it is
// released or can no longer be renewed (the cache closed: the holder is
// as good as dead, and its lease will run out).
func (s *Storage) keepLease(name string, h *heldLock) {
	t := time.NewTicker(s.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			if s.renew(name, h.token, s.lease) != nil {
				return
			}
		}
	}
}

// renew extends the lease if token still holds it.
func (s *Storage) renew(name, token string, lease time.Duration) error {
	return s.locks.Update(name, func(old []byte) ([]byte, error) {
		if cur, ok := parseLock(old); !ok || cur.Token != token {
			return old, fmt.Errorf("%w: %s", ErrLockLost, name)
		}
		return json.Marshal(lockRecord{Token: token, Expires: s.now().Add(lease)})
	})
}

// RenewLockLease extends the lease on a lock this Storage holds.
func (s *Storage) RenewLockLease(_ context.Context, name string, lease time.Duration) error {
	s.mu.Lock()
	h := s.held[name]
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("%w: %s is not held here", ErrLockLost, name)
	}
	return s.renew(name, h.token, lease)
}

// Unlock releases a lock this Storage holds. If its lease ran out and
// another holder took it, that holder keeps it and ErrLockLost is returned.
func (s *Storage) Unlock(_ context.Context, name string) error {
	s.mu.Lock()
	h := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("%w: %s is not held here", ErrLockLost, name)
	}
	close(h.stop)
	return s.locks.Update(name, func(old []byte) ([]byte, error) {
		if cur, ok := parseLock(old); !ok || cur.Token != h.token {
			return old, fmt.Errorf("%w: %s", ErrLockLost, name)
		}
		return nil, nil
	})
}

// String names the storage in certmagic's logs.
func (s *Storage) String() string { return "edge bbolt storage" }

var (
	_ certmagic.Storage          = (*Storage)(nil)
	_ certmagic.TryLocker        = (*Storage)(nil)
	_ certmagic.LockLeaseRenewer = (*Storage)(nil)
)
