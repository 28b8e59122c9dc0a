package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/spf13/pflag"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/edge/deploy"
	"github.com/edgecdn/edge/ops/client"
)

// serveConfig is everything `edge serve` can be told, from flags or from a
// TOML config file (--config). A flag given on the command line wins over
// the file.
type serveConfig struct {
	Data        string        `toml:"data"`
	HTTP        string        `toml:"http"`
	HTTPS       string        `toml:"https"`
	Apps        []string      `toml:"apps"`
	LogLevel    string        `toml:"log_level"`
	LogFormat   string        `toml:"log_format"`
	AccessLog   bool          `toml:"access_log"`
	MaxInFlight int           `toml:"max_in_flight"`
	AppShare    int           `toml:"app_share"`  // percent of max_in_flight one app may hold while apps compete
	MaxOutput   int64         `toml:"max_output"` // bytes any guest may write
	MaxQueue    int           `toml:"max_queue"`
	QueueWait   time.Duration `toml:"queue_wait"` // "2s": the TOML library decodes durations
	Admin       string        `toml:"admin"`
	Token       string        `toml:"token"`
	// ArtifactBudget caps the AOT artifacts kept in the cache, in bytes.
	ArtifactBudget int64 `toml:"artifact_budget"`
	// ObjectCache is the memory for hot static files, in bytes (-1: none).
	ObjectCache int64 `toml:"object_cache"`
	// H2Server is the HTTP/2 server of the TLS listener: edge or std.
	H2Server string `toml:"h2_server"`
	// H1Server is the HTTP/1.1 server of both listeners: edge or std.
	H1Server string `toml:"h1_server"`
	// SlotReset is how a guest's pool slot is reset: dirty or full
	// (slot_reset.go).
	SlotReset string `toml:"slot_reset"`
	// TrustKeys are public key files (edge keygen) deploys may be signed
	// with. None: a dev key is created in the data dir and trusted.
	TrustKeys []string `toml:"trust_keys"`
	// KeepVersions is how many versions of a deployed app are kept.
	KeepVersions int `toml:"keep_versions"`
	// MaxBundle caps the total size of one deployed version, in bytes.
	MaxBundle int64 `toml:"max_bundle"`
	// MaxBodyMemory bounds request body bytes buffered across the node.
	MaxBodyMemory int64 `toml:"max_body_memory"`
	// HTTP cache budgets for origin routes, in bytes (0: defaults).
	HTTPCacheMemory int64 `toml:"http_cache_memory"`
	HTTPCacheDisk   int64 `toml:"http_cache_disk"`
	// Mesh: the node's name and region, its gossip address, the nodes
	// to join, the gossip keys (files or base64, the first encrypts) and
	// the peer endpoint's address (default: the gossip host, any port).
	NodeName   string   `toml:"node_name"`
	Region     string   `toml:"region"`
	GossipWAN  bool     `toml:"gossip_wan"`
	Gossip     string   `toml:"gossip"`
	Join       []string `toml:"join"`
	GossipKeys []string `toml:"gossip_keys"`
	Peer       string   `toml:"peer"`
	// GossipRetention is how long tombstones are gossiped and departed
	// members remembered (0: gossip.DefaultRetention, 7 days).
	GossipRetention time.Duration `toml:"gossip_retention"`
	// DrainTimeout is how long requests in flight get on SIGTERM.
	DrainTimeout time.Duration `toml:"drain_timeout"`
	// ACME: see tls_wiring.go.
	acmeSettings
	artifactShareSettings
	gossipTimingSettings

	configPath string // the --config file, re-read on SIGHUP
	levelFlag  bool   // --log-level was given: SIGHUP leaves the level alone
}

// meshOn reports whether the node joins a mesh.
func (c serveConfig) meshOn() bool { return c.Gossip != "" || len(c.Join) > 0 }

// defaultServeConfig is a node on loopback with the components' own
// defaults spelled out, so --help shows values.
func defaultServeConfig() serveConfig {
	return serveConfig{
		Data:           "./edge-data",
		HTTP:           "127.0.0.1:8080",
		HTTPS:          "127.0.0.1:8443",
		Admin:          client.DefaultNode,
		LogLevel:       "info",
		LogFormat:      "text",
		MaxInFlight:    edge.DefaultMaxInFlight,
		MaxQueue:       edge.DefaultMaxQueue,
		QueueWait:      edge.DefaultQueueWait,
		KeepVersions:   cache.DefaultKeepVersions,
		MaxBundle:      deploy.DefaultMaxBundle,
		ArtifactBudget: cache.DefaultArtifactBudget,
		DrainTimeout:   DefaultDrainTimeout,
	}
}

// listFlag is a repeatable flag bound to a list: given on the command line
// it replaces the config file's list instead of adding to it.
type listFlag struct {
	dst *[]string
	set bool
}

func (l *listFlag) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l *listFlag) Type() string { return "list" }

func (l *listFlag) Set(v string) error {
	if !l.set {
		*l.dst, l.set = nil, true
	}
	*l.dst = append(*l.dst, v)
	return nil
}

// configKeys lists the config file's keys, for --help.
const configKeys = "data, http, https, admin, token, apps, log_level, log_format, access_log, max_in_flight, app_share, max_output, slot_reset, max_queue, queue_wait, artifact_budget, object_cache, trust_keys, keep_versions, max_bundle, max_body_memory, http_cache_memory, http_cache_disk, node_name, region, gossip_wan, gossip_max_rtt, gossip, join, gossip_keys, peer, drain_timeout, " + acmeConfigKeys

// serveFlags defines every flag of `edge serve` on the matching field of
// cfg, with the field's current value (default or config file) as default.
func serveFlags(cfg *serveConfig, fs *pflag.FlagSet) {
	fs.String("config", "", "TOML config `file` (keys: "+configKeys+"); flags override it")
	fs.StringVar(&cfg.Data, "data", cfg.Data, "data `directory`: the cache, the dev CA, tokens and keys")
	fs.StringVar(&cfg.HTTP, "http", cfg.HTTP, "plain HTTP listen `address` (\"\" disables)")
	fs.StringVar(&cfg.HTTPS, "https", cfg.HTTPS, "HTTPS `address`: TCP for HTTP/1.1 and HTTP/2, UDP for HTTP/3 (\"\" disables)")
	fs.StringVar(&cfg.Admin, "admin", cfg.Admin, "admin API `address`, token-protected (\"\" disables)")
	fs.StringVar(&cfg.Token, "token", cfg.Token, "admin token (default: $"+client.TokenEnv+", else generated into DATA/"+client.TokenFile+")")
	fs.Var(&listFlag{dst: &cfg.Apps}, "app", "load the app in this `directory` (repeatable); none: the embedded demo")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json")
	fs.BoolVar(&cfg.AccessLog, "access-log", cfg.AccessLog, "log one line per request (failures are logged either way)")
	fs.IntVar(&cfg.MaxInFlight, "max-in-flight", cfg.MaxInFlight, "guests running at once")
	fs.IntVar(&cfg.AppShare, "app-share", cfg.AppShare, "`percent` of --max-in-flight one app may hold while several apps have dynamic routes (0: 75)")
	fs.Int64Var(&cfg.MaxOutput, "max-output", cfg.MaxOutput, "`bytes` any guest may write; routes may ask for less (0: 64 MiB, at most 1 GiB)")
	fs.StringVar(&cfg.SlotReset, "slot-reset", cfg.SlotReset, "how a guest's memory is reset after each request: dirty (the pages it wrote; default, best for Go and JavaScript snapshots) or full (the whole slot: ~2 µs cheaper a request for guests of a few pages)")
	fs.IntVar(&cfg.MaxQueue, "max-queue", cfg.MaxQueue, "requests waiting for a guest slot")
	fs.DurationVar(&cfg.QueueWait, "queue-wait", cfg.QueueWait, "how long a request waits for a guest slot before 503")
	fs.Var(&listFlag{dst: &cfg.TrustKeys}, "trust-key", "public key `file` (edge keygen) deploys, rollbacks and removals may be signed with, or FILE:APPS to limit it to apps (blog,docs-*); repeatable (none: a dev key in DATA/deploy.key)")
	fs.IntVar(&cfg.KeepVersions, "keep-versions", cfg.KeepVersions, "versions of each deployed app kept for rollback")
	fs.Int64Var(&cfg.MaxBundle, "max-bundle", cfg.MaxBundle, "`bytes` one deployed version may hold")
	fs.Int64Var(&cfg.MaxBodyMemory, "max-body-memory", cfg.MaxBodyMemory, "`bytes` of request bodies buffered across the node; past it requests wait, then 503")
	fs.Int64Var(&cfg.ArtifactBudget, "artifact-budget", cfg.ArtifactBudget, "`bytes` of compiled artifacts kept in the cache, least recently used evicted")
	fs.StringVar(&cfg.H1Server, "h1-server", cfg.H1Server, "HTTP/1.1 server: edge (the node's own for plain GET and HEAD, Go's net/http for the rest; default) or std (Go's net/http)")
	fs.StringVar(&cfg.H2Server, "h2-server", cfg.H2Server, "HTTP/2 server of the TLS listener: edge (the node's own, default) or std (Go's net/http)")
	fs.Var(&sizeFlag{dst: &cfg.ObjectCache}, "object-cache", "memory for small, hot static files, e.g. 256MiB (0: 256MiB; off: none)")
	fs.StringVar(&cfg.NodeName, "node-name", cfg.NodeName, "this node's unique `name` in the mesh (default: the hostname)")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "this node's region: peers of the same region are preferred for blob fetches")
	fs.BoolVar(&cfg.GossipWAN, "gossip-wan", cfg.GossipWAN, "memberlist's WAN timings, for a mesh across regions (round trips of 50-250 ms)")
	fs.StringVar(&cfg.Gossip, "gossip", cfg.Gossip, "gossip `address` (UDP+TCP), bound and advertised; turns the mesh on (default with --join: "+defaultGossip+")")
	fs.Var(&listFlag{dst: &cfg.Join}, "join", "gossip `address` of a mesh node to join (repeatable)")
	fs.Var(&listFlag{dst: &cfg.GossipKeys}, "gossip-key", "gossip `key` file or base64 (edge keygen --gossip); repeatable, the first encrypts")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "on SIGTERM, how long requests in flight get to finish before they are cut")
	fs.StringVar(&cfg.Peer, "peer", cfg.Peer, "peer endpoint `address` other nodes fetch blobs from (default: the gossip host, any port)")
	fs.DurationVar(&cfg.GossipRetention, "gossip-retention", cfg.GossipRetention, "how long removals (tombstones) are gossiped and departed members remembered; longer than any partition the mesh must heal from (0: 168h)")
	acmeFlags(fs, &cfg.acmeSettings)
	artifactShareFlags(fs, &cfg.artifactShareSettings)
	gossipTimingFlags(fs, &cfg.gossipTimingSettings)
	httpCacheFlags(fs, cfg)
}

// configFlag finds --config's value in args before the flags are parsed,
// so the file can supply the defaults the flags then override.
func configFlag(args []string) string {
	for i, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		if hasValue {
			return value
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// loadConfigFile overlays a TOML file on cfg. Unknown keys are errors.
func loadConfigFile(path string, cfg *serveConfig) error {
	md, err := toml.DecodeFile(path, cfg)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return fmt.Errorf("config %s: unknown key %q", path, und[0].String())
	}
	if cfg.QueueWait <= 0 {
		return fmt.Errorf("config %s: queue_wait: %s is not a positive duration (write it as \"2s\")", path, cfg.QueueWait)
	}
	if cfg.DrainTimeout <= 0 {
		return fmt.Errorf("config %s: drain_timeout: %s is not a positive duration (write it as \"30s\")", path, cfg.DrainTimeout)
	}
	if cfg.Data == "" {
		return errors.New("config " + path + ": data must not be empty")
	}
	return nil
}
