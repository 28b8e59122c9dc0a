package ops

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/deploy"
	"github.com/edgecdn/edge/gossip/trust"
	"github.com/edgecdn/edge/ops/api"
	edgetls "github.com/edgecdn/edge/tls"
)

// AdminConfig configures the admin API.
type AdminConfig struct {
	// Addr to listen on; loopback unless the operator says otherwise.
	Addr string
	// Token every call must present as "Authorization: Bearer TOKEN".
	Token string
	Cache *cache.Cache
	// Checker test-loads artifacts for verify (may be nil).
	Checker *cache.ArtifactChecker
	// Deployer takes deploys; nil: the deploy endpoints answer 501.
	Deployer *deploy.Deployer
	// MaxBlob caps one uploaded blob (0: deploy.DefaultMaxBundle).
	MaxBlob int64
	// Members lists the mesh (nil: not in a mesh, 501).
	Members MembersFunc
	// Keyring returns the gossip keyring (nil, or returning nil: not in a
	// mesh, 501). A func: the node joins its mesh after the API is bound.
	Keyring func() Keyring
	// MeshPurge, in a mesh, sends a signed purge to every other member
	// and returns how many it reached (nil: one node).
	MeshPurge func(st *api.PurgeStatement) (int, error)
	// Trusted are the deploy keys signed purges are checked against.
	Trusted trust.Keyring
	// MeshRefused counts the gossiped states the mesh refused (nil: not in
	// a mesh).
	MeshRefused func() int64
	// Handler is the user-traffic handler whose counters /metrics reports.
	Handler *edge.Handler
	// Metrics is the registry /metrics serves, fed by the Handler when it
	// was given as its Observer (nil: a registry of its own).
	Metrics *Metrics
	// Name is the node's name, shown by the dashboard.
	Name string
	// Ready is what /readyz reports (nil: always ready).
	Ready *Readiness
	// GossipBytes reports the mesh's traffic (nil: not in a mesh).
	GossipBytes func() (sent, received int64)
	// H1Counts reports the requests the node's own HTTP/1.1 server
	// answered and the conns it handed to net/http (nil: not reported).
	H1Counts func() (served, handedOff uint64)
	// Certs lists the served names and their certificates (nil: 501).
	Certs func() []edgetls.CertInfo
	// MemberCerts lists every member's certificates (nil: not in a mesh).
	MemberCerts func(ctx context.Context) ([]api.MemberCerts, error)
	Log         *slog.Logger
}

// Admin serves the admin API. Lifecycle as for edge.Server: NewAdmin has
// no side effects, Start binds, Shutdown may be called twice.
type Admin struct {
	cfg  AdminConfig
	srv  *http.Server
	ln   net.Listener // bound by Listen, served by Start
	addr net.Addr
	once sync.Once
	log  *slog.Logger

	started time.Time

	counters deployCounters
}

// NewAdmin builds the API. An empty token is refused: there is no
// unauthenticated mode.
func NewAdmin(cfg AdminConfig) (*Admin, error) {
	if len(cfg.Token) < 16 {
		return nil, errors.New("ops: admin token must be at least 16 characters")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxBlob <= 0 {
		cfg.MaxBlob = deploy.DefaultMaxBundle
	}
	a := &Admin{cfg: cfg, log: cfg.Log.With("component", "admin"), started: time.Now()}
	if err := a.registerMetrics(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/cache/stats", a.cacheStats)
	mux.HandleFunc("POST /v1/cache/verify", a.cacheVerify)
	mux.HandleFunc("POST /v1/cache/gc", a.cacheGC)
	mux.Handle("GET /metrics", a.cfg.Metrics.Handler())
	mux.HandleFunc("GET /v1/certs", a.certs)
	a.routeDeploy(mux)
	a.routeMesh(mux)
	routePprof(mux)
	mux.HandleFunc("GET /v1/status", a.status)
	a.routePurge(mux)
	a.routeTrust(mux)
	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", healthz) // these two need no token
	root.HandleFunc("GET /readyz", a.readyz)
	root.HandleFunc("GET /{$}", dashboard) // the page holds no data: it asks /v1/status with the token
	root.Handle("/", a.authenticate(mux))
	a.srv = &http.Server{Handler: root, ReadHeaderTimeout: 10 * time.Second}
	return a, nil
}

// Listen binds the listener without serving yet: a busy port is reported
// before the node loads its apps. Start calls it if it was not called.
func (a *Admin) Listen() error {
	if a.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("ops: listen admin %s: %w", a.cfg.Addr, err)
	}
	a.ln, a.addr = ln, ln.Addr()
	return nil
}

// Start binds the listener (unless Listen did) and serves in the background.
func (a *Admin) Start() error {
	if err := a.Listen(); err != nil {
		return err
	}
	go func() {
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin listener stopped", "err", err)
		}
	}()
	return nil
}

// Addr is the bound address.
func (a *Admin) Addr() string {
	if a.addr == nil {
		return ""
	}
	return a.addr.String()
}

// Shutdown stops the API, waiting for calls in flight until ctx ends.
func (a *Admin) Shutdown(ctx context.Context) error {
	var err error
	a.once.Do(func() {
		err = a.srv.Shutdown(ctx)
		if a.ln != nil {
			_ = a.ln.Close() // bound by Listen, maybe never served
		}
	})
	return err
}

// authenticate rejects any call without the bearer token, comparing in
// constant time so the token cannot be guessed byte by byte.
func (a *Admin) authenticate(next http.Handler) http.Handler {
	want := []byte(a.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="edge admin"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong admin token (Authorization: Bearer TOKEN)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerToken returns the token of an "Authorization: Bearer TOKEN"
// header. The scheme is case-insensitive (RFC 9110 section 11.1), so
// "bearer" and "BEARER" work too.
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimLeft(tok, " ")
	return tok, tok != ""
}

func (a *Admin) cacheStats(w http.ResponseWriter, _ *http.Request) {
	s, err := a.cfg.Cache.Stats()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *Admin) cacheVerify(w http.ResponseWriter, _ *http.Request) {
	rep, err := a.cfg.Cache.Verify(a.cfg.Checker)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (a *Admin) cacheGC(w http.ResponseWriter, _ *http.Request) {
	rep, err := a.cfg.Cache.GC()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	a.log.Info("cache gc", "blobs", rep.Blobs, "bytes", rep.BlobBytes, "artifacts", rep.Artifacts, "orphan_chunks", rep.OrphanChunks)
	writeJSON(w, http.StatusOK, rep)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, api.Error{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
