package edge

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/httpcache"
)

// HandlerConfig configures a Handler. Zero fields take the defaults.
type HandlerConfig struct {
	Router *Router
	Log    *slog.Logger
	// MaxInFlight bounds guests running at once on the node.
	MaxInFlight int
	// AppShare is the percentage of MaxInFlight one app may hold while
	// more than one app has dynamic routes (default DefaultAppShare).
	AppShare int
	// MaxQueue bounds requests waiting for a guest slot.
	MaxQueue int
	// QueueWait is how long a request waits for a slot before 503.
	QueueWait time.Duration
	// MaxBody caps a request body handed to a guest.
	MaxBody int64
	// MaxBodyMemory bounds the request body bytes buffered across the
	// node; a request waits up to QueueWait for room, else 503.
	MaxBodyMemory int64
	// AltSvc, if set, adds Alt-Svc to responses over TLS (HTTP/3).
	AltSvc func(http.Header)
	// AccessLog logs one line per request at info level. Off by default,
	// as in Caddy: at tens of thousands of requests a second the lines
	// cost more than the guests. Failures are logged either way, and every
	// response carries its X-Request-Id.
	AccessLog bool
	// Observer is told about every request and guest run (metrics).
	Observer Observer

	// HTTPCache is the shared cache origin routes answer through; nil:
	// origin routes pass every request through.
	HTTPCache *httpcache.Cache
	// ObjectCache is the memory, in bytes, kept for the content of small,
	// hot static files (0: DefaultObjectCache; negative: none).
	ObjectCache int64
}

// Defaults for HandlerConfig.
const (
	DefaultMaxInFlight = 64
	DefaultMaxQueue    = 1024
	DefaultQueueWait   = 2 * time.Second
	DefaultMaxBody     = 16 << 20
	// DefaultMaxBodyMemory lets 16 maximal bodies be buffered at once.
	DefaultMaxBodyMemory = 256 << 20
)

// Handler is the node's http.Handler for user traffic, on every listener.
type Handler struct {
	cfg     HandlerConfig
	log     *slog.Logger
	limiter *Limiter
	bodies  *bodyBudget
	objects *app.ObjectCache // nil: none
	stats   Stats
	origins transportPool // origin routes (origin.go), by origin
	guests  transportPool // guest fetches (guest_fetch.go), by origin_ca
}

// NewHandler builds the request handler.
func NewHandler(cfg HandlerConfig) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.AppShare <= 0 {
		cfg.AppShare = DefaultAppShare
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = DefaultMaxQueue
	}
	if cfg.QueueWait <= 0 {
		cfg.QueueWait = DefaultQueueWait
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxBodyMemory <= 0 {
		cfg.MaxBodyMemory = DefaultMaxBodyMemory
	}
	cfg.MaxBody = min(cfg.MaxBody, cfg.MaxBodyMemory) // a body must fit the budget
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.ObjectCache == 0 {
		cfg.ObjectCache = app.DefaultObjectCache
	}
	return &Handler{
		cfg:     cfg,
		log:     cfg.Log.With("component", "edge"),
		limiter: NewAppLimiter(cfg.MaxInFlight, cfg.MaxQueue, cfg.QueueWait, cfg.AppShare),
		bodies:  newBodyBudget(cfg.MaxBodyMemory, cfg.QueueWait),
		objects: app.NewObjectCache(cfg.ObjectCache),
	}
}

// BodyMemory is the request body bytes reserved now, out of
// HandlerConfig.MaxBodyMemory: for metrics and tests.
func (h *Handler) BodyMemory() int64 { return h.bodies.used.Load() }

// HTTPCache is the shared HTTP cache (nil when there is none), for purges
// and metrics.
func (h *Handler) HTTPCache() *httpcache.Cache { return h.cfg.HTTPCache }

// CloseIdle drops idle connections to origins.
func (h *Handler) CloseIdle() { h.origins.close(); h.guests.close() }

// ObjectCache reports the static object cache, for metrics and tests.
func (h *Handler) ObjectCache() app.ObjectCacheStats { return h.objects.Stats() }

// Limiter exposes the guest concurrency limiter, for metrics and tests.
func (h *Handler) Limiter() *Limiter { return h.limiter }

// ServeHTTP routes one request, answers it, and logs one access line.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	id := rec.newID()
	rec.Header()["X-Request-Id"] = rec.idValue[:1:1]
	if r.TLS != nil && h.cfg.AltSvc != nil && r.ProtoMajor < 3 {
		h.cfg.AltSvc(rec.Header())
	}
	p := cleanPath(r.URL.Path)
	app, route := h.cfg.Router.Match(r.Host, p)
	appName := ""
	switch {
	case app == nil:
		http.Error(rec, "no app is deployed for host "+normalizeHost(r.Host), http.StatusNotFound)
	case route == nil || route.Internal:
		appName = app.Name
		http.Error(rec, "404 page not found", http.StatusNotFound)
	case route.Origin != nil:
		appName = app.Name
		h.serveOrigin(rec, r, route, id)
	case route.Dynamic():
		appName = app.Name
		h.serveDynamic(rec, r, app.Name, route, id)
	default:
		appName = app.Name
		h.serveStatic(rec, r, route, p, id)
	}
	h.stats.countResponse(rec.status)
	h.cfg.Observer.Request(RequestDone{App: app, Route: route, Proto: r.ProtoMajor, Status: rec.status, Bytes: rec.bytes, Duration: time.Since(start)})
	if h.cfg.AccessLog {
		h.logAccess(r, rec, id, appName, start)
	}
}

// logAccess logs one access line. Apart from ServeHTTP so that its
// attributes do not enlarge the frame of every request: a larger frame
// makes a fresh h2 handler goroutine grow (copy) its stack sooner.
//
//go:noinline
func (h *Handler) logAccess(r *http.Request, rec *recorder, id, appName string, start time.Time) {
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("id", id), slog.String("proto", r.Proto), slog.String("method", r.Method),
		slog.String("host", r.Host), slog.String("path", r.URL.Path), slog.String("app", appName),
		slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", time.Since(start)))
}

// recorder remembers the status and size of a response for the access log.
// It also holds the request id's header value, so that the header costs
// no allocation of its own.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
	idHex       [16]byte
	idValue     [1]string
}

// newID returns 16 hex characters: unique enough to find one request's log
// lines across a fleet.
func (r *recorder) newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	hex.Encode(r.idHex[:], b[:])
	r.idValue[0] = string(r.idHex[:])
	return r.idValue[0]
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

var _ http.Handler = (*Handler)(nil)
