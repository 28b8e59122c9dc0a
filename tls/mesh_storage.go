package edgetls

import (
	"context"
	ctls "crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
)

// issueLockPrefix is the name certmagic gives the lock it takes before
// obtaining or renewing a name's certificate ("issue_cert_NAME").
const issueLockPrefix = "issue_cert_"

// meshPoll is how often a member waiting for another's order looks for
// the certificate; meshFetchTimeout bounds one question to one member.
const (
	meshPoll         = 250 * time.Millisecond
	meshFetchTimeout = 3 * time.Second
)

// DefaultMeshPatience is how long a member waits for an alive orderer's
// certificate before it orders one itself: an orderer that cannot order
// (its app never arrived, its CA calls keep failing) costs a duplicate
// order, never a node without a certificate.
const DefaultMeshPatience = 5 * time.Minute

// renewMargin: a member that still serves a valid certificate waits for
// the orderer's renewal until its own has this little time left, past
// the patience: the members' renewal checks are not in step, and waiting
// costs nothing while the old certificate serves.
const renewMargin = 7 * 24 * time.Hour

// meshStorage is the node's Storage as certmagic sees it in a mesh. Two
// things differ from the local file:
//
//   - Taking the lock that precedes an order or a renewal of NAME is
//     where the mesh decides who orders: the lock is granted at once to
//     the name's Orderer; any other member waits until it can copy, from
//     the Orderer or any member, a certificate newer than its own, then
//     gets the lock, and certmagic finds the certificate in storage and
//     orders nothing. When the Orderer leaves the alive set, the next one
//     by rendezvous orders: a dead Orderer costs one duplicate order at
//     most, never a node left without a certificate.
//   - Challenge data another member stored while ordering is fetched
//     from the members on demand, so a validation landing on any node is
//     answered.
type meshStorage struct {
	*Storage
	m *Manager
}

// Lock takes the lock key; for an issue lock, only once this node is to
// order or holds a fresh copy (see meshStorage).
func (s *meshStorage) Lock(ctx context.Context, key string) error {
	name, ok := strings.CutPrefix(key, issueLockPrefix)
	if !ok || !s.m.cfg.Mesh {
		return s.Storage.Lock(ctx, key)
	}
	if err := s.waitMesh(ctx); err != nil {
		return err
	}
	if err := s.waitTurn(ctx, name); err != nil {
		return err
	}
	return s.Storage.Lock(ctx, key)
}

// TryLock is Lock without waiting: an issue lock is refused while
// another member is to order.
func (s *meshStorage) TryLock(ctx context.Context, key string) (bool, error) {
	name, ok := strings.CutPrefix(key, issueLockPrefix)
	if ok && s.m.cfg.Mesh {
		p := s.m.meshPeers()
		if p == nil || Orderer(name, p.Members()) != p.Self() {
			return false, nil
		}
	}
	return s.Storage.TryLock(ctx, key)
}

// waitMesh waits until the node joined the mesh: a node that ordered
// before knowing its peers would order what they may already hold.
func (s *meshStorage) waitMesh(ctx context.Context) error {
	select {
	case <-s.m.meshReady:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("edgetls: waiting for the mesh: %w", context.Cause(ctx))
	}
}

// waitTurn returns once name's certificate was copied from a member, or
// this node is the Orderer of name among the alive members (having asked
// the others first: a node joining a mesh finds what it already holds).
func (s *meshStorage) waitTurn(ctx context.Context, name string) error {
	p := s.m.meshPeers()
	log := s.m.log.With("name", name)
	excluded := map[string]bool{} // members that share no certificates
	waitingFor := ""
	since := time.Now()
	for {
		var members []string
		for _, mb := range p.Members() {
			if !excluded[mb] {
				members = append(members, mb)
			}
		}
		owner := Orderer(name, members)
		copied, err := s.pull(ctx, p, name, owner, members, excluded)
		if err != nil {
			return err
		}
		if copied != "" {
			log.Info("certificate copied from a member", "from", copied, "orderer", owner)
			return nil
		}
		if owner == p.Self() || owner == "" {
			log.Info("ordering the certificate for the mesh", "members", len(members))
			return nil
		}
		if time.Now().After(s.giveUp(ctx, name, since)) {
			log.Warn("ordering the certificate: the orderer did not provide it in time", "orderer", owner, "waited", time.Since(since))
			return nil
		}
		if owner != waitingFor {
			log.Info("waiting for the certificate the orderer obtains", "orderer", owner, "members", len(members))
			waitingFor = owner
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("edgetls: waiting for %s's certificate of %s: %w", owner, name, context.Cause(ctx))
		case <-time.After(meshPoll):
		}
	}
}

// giveUp is when a member waiting since since orders name itself.
func (s *meshStorage) giveUp(ctx context.Context, name string, since time.Time) time.Time {
	at := since.Add(s.m.patience)
	if na := s.notAfter(ctx, name); na.After(time.Now()) {
		if late := na.Add(-renewMargin); late.After(at) {
			at = late
		}
	}
	return at
}

// pull asks the members (the owner first) for name's certificate and
// stores the first one valid for name and newer than this node's. It
// returns the member copied from ("" if none); members that share no
// certificates are added to excluded.
func (s *meshStorage) pull(ctx context.Context, p Peers, name, owner string, members []string, excluded map[string]bool) (string, error) {
	order := []string{owner}
	for _, mb := range members {
		if mb != owner {
			order = append(order, mb)
		}
	}
	have := s.notAfter(ctx, name)
	for _, mb := range order {
		if mb == p.Self() || mb == "" {
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, meshFetchTimeout)
		files, err := p.Fetch(fctx, mb, KindCert, name)
		cancel()
		if errors.Is(err, ErrNoSharing) {
			excluded[mb] = true
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			s.m.log.Debug("certificate not fetched", "name", name, "from", mb, "err", err)
			continue
		}
		if len(files) == 0 {
			continue
		}
		notAfter, err := checkCertFiles(files, name, time.Now())
		if err != nil {
			s.m.log.Warn("certificate from a member refused", "name", name, "from", mb, "err", err)
			continue
		}
		if !notAfter.After(have) {
			continue // not newer than ours: the renewal is still to come
		}
		if err := s.storeFiles(ctx, files); err != nil {
			return "", err
		}
		return mb, nil
	}
	return "", nil
}

// notAfter is the expiry of the newest certificate of name stored here
// (zero if none).
func (s *meshStorage) notAfter(ctx context.Context, name string) time.Time {
	files, err := s.files(ctx, "certificates", func(k string) bool {
		return isCertKey(k, name) && strings.HasSuffix(k, ".crt")
	})
	var best time.Time
	if err != nil {
		return best
	}
	for _, f := range files {
		if leaf, err := firstCert(f.Value); err == nil && leaf.NotAfter.After(best) {
			best = leaf.NotAfter
		}
	}
	return best
}

// storeFiles writes a certificate's files, metadata last: certmagic
// counts a certificate as stored once all three exist.
func (s *meshStorage) storeFiles(ctx context.Context, files []File) error {
	var meta *File
	for i, f := range files {
		if strings.HasSuffix(f.Key, ".json") {
			meta = &files[i]
			continue
		}
		if err := s.Storage.Store(ctx, f.Key, f.Value); err != nil {
			return err
		}
	}
	return s.Storage.Store(ctx, meta.Key, meta.Value)
}

// checkCertFiles checks what a member sent for name before it is stored:
// exactly certmagic's three files of one issuer for name, a chain whose
// leaf covers name and is valid at now, and a private key matching it.
// It returns the leaf's expiry.
func checkCertFiles(files []File, name string, now time.Time) (time.Time, error) {
	var crt, key, meta []byte
	issuer := ""
	for _, f := range files {
		if !isCertKey(f.Key, name) {
			return time.Time{}, fmt.Errorf("unexpected key %q", f.Key)
		}
		iss := strings.Split(f.Key, "/")[1]
		if issuer != "" && iss != issuer {
			return time.Time{}, errors.New("files of two issuers")
		}
		issuer = iss
		switch {
		case strings.HasSuffix(f.Key, ".crt"):
			crt = f.Value
		case strings.HasSuffix(f.Key, ".key"):
			key = f.Value
		default:
			meta = f.Value
		}
	}
	if crt == nil || key == nil || meta == nil || len(files) != 3 {
		return time.Time{}, errors.New("incomplete certificate files")
	}
	if _, err := ctls.X509KeyPair(crt, key); err != nil {
		return time.Time{}, fmt.Errorf("key pair: %w", err)
	}
	leaf, err := firstCert(crt)
	if err != nil {
		return time.Time{}, err
	}
	if err := leaf.VerifyHostname(name); err != nil {
		return time.Time{}, err
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return time.Time{}, errors.New("certificate not valid now")
	}
	return leaf.NotAfter, nil
}

// firstCert parses the first certificate of a PEM chain.
func firstCert(chain []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(chain)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// Load reads key here; challenge data this node lacks is asked of the
// members, since the one that ordered stored it.
func (s *meshStorage) Load(ctx context.Context, key string) ([]byte, error) {
	v, err := s.Storage.Load(ctx, key)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return v, err
	}
	name := challengeName(cleanKey(key))
	p := s.m.meshPeers()
	if name == "" || p == nil {
		return nil, err
	}
	if v := s.fetchChallenge(ctx, p, name, cleanKey(key)); v != nil {
		return v, nil
	}
	return nil, err
}

// fetchChallenge asks every other member at once for name's challenge
// data at key and returns the first answer (nil: none has it).
func (s *meshStorage) fetchChallenge(ctx context.Context, p Peers, name, key string) []byte {
	ctx, cancel := context.WithTimeout(ctx, meshFetchTimeout)
	defer cancel()
	members := p.Members()
	found := make(chan []byte, len(members)) // no sender ever blocks
	asked := 0
	for _, mb := range members {
		if mb == p.Self() {
			continue
		}
		asked++
		go func() {
			files, err := p.Fetch(ctx, mb, KindChallenge, name)
			for _, f := range files {
				if err == nil && f.Key == key {
					found <- f.Value
					return
				}
			}
			found <- nil
		}()
	}
	for range asked {
		if v := <-found; v != nil {
			s.m.log.Debug("challenge data fetched from a member", "name", name)
			return v
		}
	}
	return nil
}

// Exists also finds challenge data held by a member.
func (s *meshStorage) Exists(ctx context.Context, key string) bool {
	if s.Storage.Exists(ctx, key) {
		return true
	}
	if challengeName(cleanKey(key)) == "" {
		return false
	}
	_, err := s.Load(ctx, key)
	return err == nil
}

var (
	_ certmagic.Storage          = (*meshStorage)(nil)
	_ certmagic.TryLocker        = (*meshStorage)(nil)
	_ certmagic.LockLeaseRenewer = (*meshStorage)(nil)
)
