package cache

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// Deployed apps live in bucketDeploys: one nested bucket per app holding
// its retained versions ("v" + 8-byte version → Manifest JSON), the active
// version ("active") and the last version number handed out ("seq").
// Switching what serves is one write to "active" in one transaction.
var (
	keyActive = []byte("active")
	keySeq    = []byte("seq")
)

// Version errors.
var (
	// ErrMissingBlobs is returned when a manifest names blobs the cache
	// does not hold; the error lists them.
	ErrMissingBlobs = errors.New("cache: manifest names blobs that are not stored")
	// ErrNoVersion is returned for an app or version that is not deployed.
	ErrNoVersion = errors.New("cache: no such app version")
)

// DefaultKeepVersions is how many versions of an app are kept for rollback.
const DefaultKeepVersions = 10

// MissingBlobsError lists what a manifest lacks.
type MissingBlobsError struct{ Digests []string }

func (e *MissingBlobsError) Error() string {
	return fmt.Sprintf("%v: %d missing, first %s", ErrMissingBlobs, len(e.Digests), e.Digests[0])
}

func (e *MissingBlobsError) Unwrap() error { return ErrMissingBlobs }

func versionKey(v int) []byte {
	return binary.BigEndian.AppendUint64([]byte("v"), uint64(v))
}

func getUint(b *bolt.Bucket, k []byte) int {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}

func putUint(b *bolt.Bucket, k []byte, n int) error {
	return b.Put(k, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// Missing returns the digests among ds that are not stored.
func (c *Cache) Missing(ds []Digest) []Digest {
	var out []Digest
	_ = c.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBlobs)
		for _, d := range ds {
			if b.Get(d[:]) == nil {
				out = append(out, d)
			}
		}
		return nil
	})
	return out
}

func checkBlobs(tx *bolt.Tx, m *Manifest) error {
	b := tx.Bucket(bucketBlobs)
	var missing []string
	for _, d := range m.Digests() {
		if b.Get(d[:]) == nil {
			missing = append(missing, d.String())
		}
	}
	if len(missing) > 0 {
		return &MissingBlobsError{Digests: missing}
	}
	return nil
}

// prune deletes all but the newest keep versions, never the active one.
func prune(app *bolt.Bucket, keep, active int) (pruned []int, gone []*Manifest, err error) {
	vs := versionsOf(app)
	for i := 0; i < len(vs)-keep; i++ {
		if vs[i].Version == active {
			continue
		}
		if err := app.Delete(versionKey(vs[i].Version)); err != nil {
			return nil, nil, err
		}
		pruned = append(pruned, vs[i].Version)
		gone = append(gone, vs[i])
	}
	return pruned, gone, nil
}

// versionsOf lists an app bucket's versions, oldest first.
func versionsOf(app *bolt.Bucket) []*Manifest {
	var out []*Manifest
	c := app.Cursor()
	for k, v := c.Seek([]byte("v")); k != nil && k[0] == 'v'; k, v = c.Next() {
		var m Manifest
		if json.Unmarshal(v, &m) == nil {
			out = append(out, &m)
		}
	}
	return out
}

func appBucket(tx *bolt.Tx, app string) *bolt.Bucket {
	d := tx.Bucket(bucketDeploys)
	if d == nil {
		return nil
	}
	return d.Bucket([]byte(app))
}

func decodeVersion(b *bolt.Bucket, v int) (*Manifest, error) {
	raw := b.Get(versionKey(v))
	if raw == nil {
		return nil, fmt.Errorf("%w: v%d", ErrNoVersion, v)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("cache: corrupt version record v%d: %w", v, err)
	}
	return &m, nil
}

// Version returns version v of app.
func (c *Cache) Version(app string, v int) (*Manifest, error) {
	var m *Manifest
	err := c.db.View(func(tx *bolt.Tx) error {
		b := appBucket(tx, app)
		if b == nil {
			return fmt.Errorf("%w: app %s", ErrNoVersion, app)
		}
		var err error
		m, err = decodeVersion(b, v)
		return err
	})
	return m, err
}

// AppVersions is one deployed app's retained history.
type AppVersions struct {
	App      string      `json:"app"`
	Active   int         `json:"active"`
	Versions []*Manifest `json:"versions"` // oldest first
}

// ActiveManifest is the version that serves.
func (a *AppVersions) ActiveManifest() *Manifest {
	for _, m := range a.Versions {
		if m.Version == a.Active {
			return m
		}
	}
	return nil
}

// Deployed lists every deployed app with its versions, sorted by name.
func (c *Cache) Deployed() ([]*AppVersions, error) {
	var out []*AppVersions
	err := c.db.View(func(tx *bolt.Tx) error {
		d := tx.Bucket(bucketDeploys)
		if d == nil {
			return nil
		}
		return d.ForEach(func(k, _ []byte) error {
			if b := d.Bucket(k); b != nil {
				out = append(out, &AppVersions{App: string(k), Active: getUint(b, keyActive), Versions: versionsOf(b)})
			}
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out, err
}

// History returns one app's versions, or ErrNoVersion.
func (c *Cache) History(app string) (*AppVersions, error) {
	var out *AppVersions
	err := c.db.View(func(tx *bolt.Tx) error {
		b := appBucket(tx, app)
		if b == nil {
			return fmt.Errorf("%w: app %s is not deployed", ErrNoVersion, app)
		}
		out = &AppVersions{App: app, Active: getUint(b, keyActive), Versions: versionsOf(b)}
		return nil
	})
	return out, err
}

// deployedRefs adds every blob of every retained version to refs.
func deployedRefs(tx *bolt.Tx, refs map[Digest]bool) {
	d := tx.Bucket(bucketDeploys)
	if d == nil {
		return
	}
	_ = d.ForEach(func(k, _ []byte) error {
		if b := d.Bucket(k); b != nil {
			for _, m := range versionsOf(b) {
				for _, dg := range m.Digests() {
					refs[dg] = true
				}
			}
		}
		return nil
	})
}
