package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
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
	MaxInFlight int           `toml:"max_in_flight"`
	MaxQueue    int           `toml:"max_queue"`
	QueueWait   time.Duration `toml:"-"`
	QueueWaitS  string        `toml:"queue_wait"`
	Admin       string        `toml:"admin"`
	Token       string        `toml:"token"`
	// ArtifactBudget caps the AOT artifacts kept in the cache, in bytes.
	ArtifactBudget int64 `toml:"artifact_budget"`
	// TrustKeys are public key files (edge keygen) deploys may be signed
	// with. None: a dev key is created in the data dir and trusted.
	TrustKeys []string `toml:"trust_keys"`
	// KeepVersions is how many versions of a deployed app are kept.
	KeepVersions int `toml:"keep_versions"`
	// MaxBundle caps the total size of one deployed version, in bytes.
	MaxBundle int64 `toml:"max_bundle"`
	// Mesh: the node's name and region, its gossip address, the nodes
	// to join, the gossip keys (files or base64, the first encrypts) and
	// the peer endpoint's address (default: the gossip host, any port).
	NodeName   string   `toml:"node_name"`
	Region     string   `toml:"region"`
	Gossip     string   `toml:"gossip"`
	Join       []string `toml:"join"`
	GossipKeys []string `toml:"gossip_keys"`
	Peer       string   `toml:"peer"`
}

// meshOn reports whether the node joins a mesh.
func (c serveConfig) meshOn() bool { return c.Gossip != "" || len(c.Join) > 0 }

func defaultServeConfig() serveConfig {
	return serveConfig{
		Data:      "./edge-data",
		HTTP:      "127.0.0.1:8080",
		HTTPS:     "127.0.0.1:8443",
		Admin:     "127.0.0.1:9090",
		LogLevel:  "info",
		LogFormat: "text",
		QueueWait: 2 * time.Second,
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// parseServeFlags reads the config file named by --config (if any), then
// applies the flags that were set explicitly on top of it.
func parseServeFlags(args []string, stderr io.Writer) (serveConfig, error) {
	cfg := defaultServeConfig()
	fs := flag.NewFlagSet("edge serve", flag.ContinueOnError)
	configFile := fs.String("config", "", "TOML config file (keys: data, http, https, admin, token, apps, log_level, log_format, max_in_flight, max_queue, queue_wait, artifact_budget, trust_keys, keep_versions, max_bundle, node_name, region, gossip, join, gossip_keys, peer)")
	data := fs.String("data", cfg.Data, "data directory (TLS CA, and later the cache)")
	httpAddr := fs.String("http", cfg.HTTP, "plain HTTP listen address (\"\" disables)")
	httpsAddr := fs.String("https", cfg.HTTPS, "HTTPS address: TCP for HTTP/1.1 and HTTP/2, UDP for HTTP/3 (\"\" disables)")
	admin := fs.String("admin", cfg.Admin, "admin API address, token-protected (\"\" disables)")
	token := fs.String("token", "", "admin token (default: $EDGE_TOKEN, else generated into DATA/admin.token)")
	var apps stringList
	fs.Var(&apps, "app", "load the app in this directory (repeatable); none: the embedded demo")
	logLevel := fs.String("log-level", cfg.LogLevel, "debug, info, warn or error")
	logFormat := fs.String("log-format", cfg.LogFormat, "text or json")
	maxInFlight := fs.Int("max-in-flight", 0, "guests running at once (0: default)")
	maxQueue := fs.Int("max-queue", 0, "requests waiting for a guest slot (0: default)")
	queueWait := fs.Duration("queue-wait", cfg.QueueWait, "how long a request waits for a guest slot before 503")
	var trustKeys stringList
	fs.Var(&trustKeys, "trust-key", "public key file (edge keygen) deploys may be signed with; repeatable (none: a dev key in DATA/deploy.key)")
	keepVersions := fs.Int("keep-versions", 0, "versions of each deployed app kept for rollback (0: 10)")
	maxBundle := fs.Int64("max-bundle", 0, "bytes one deployed version may hold (0: 512 MiB)")
	artifactBudget := fs.Int64("artifact-budget", 0, "bytes of compiled artifacts kept in the cache, least recently used evicted (0: 1 GiB)")
	nodeName := fs.String("node-name", "", "this node's unique name in the mesh (default: the hostname)")
	region := fs.String("region", "", "this node's region: peers of the same region are preferred for blob fetches")
	gossipAddr := fs.String("gossip", "", "gossip address (UDP+TCP), bound and advertised; turns the mesh on (default with --join: 0.0.0.0:7946)")
	var join, gossipKeys stringList
	fs.Var(&join, "join", "gossip address of a mesh node to join (repeatable)")
	fs.Var(&gossipKeys, "gossip-key", "gossip key file or base64 (edge keygen --gossip); repeatable, the first encrypts")
	peer := fs.String("peer", "", "peer endpoint address other nodes fetch blobs from (default: the gossip host, any port)")
	if stderr != nil {
		fs.SetOutput(stderr)
	}
	if err := fs.Parse(args); err != nil {
		return cfg, errUsage
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (apps are given with --app DIR)", fs.Arg(0))
	}
	if *configFile != "" {
		if err := loadConfigFile(*configFile, &cfg); err != nil {
			return cfg, err
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "data":
			cfg.Data = *data
		case "http":
			cfg.HTTP = *httpAddr
		case "https":
			cfg.HTTPS = *httpsAddr
		case "app":
			cfg.Apps = apps
		case "log-level":
			cfg.LogLevel = *logLevel
		case "log-format":
			cfg.LogFormat = *logFormat
		case "max-in-flight":
			cfg.MaxInFlight = *maxInFlight
		case "max-queue":
			cfg.MaxQueue = *maxQueue
		case "queue-wait":
			cfg.QueueWait = *queueWait
		case "admin":
			cfg.Admin = *admin
		case "token":
			cfg.Token = *token
		case "artifact-budget":
			cfg.ArtifactBudget = *artifactBudget
		case "trust-key":
			cfg.TrustKeys = trustKeys
		case "keep-versions":
			cfg.KeepVersions = *keepVersions
		case "max-bundle":
			cfg.MaxBundle = *maxBundle
		case "node-name":
			cfg.NodeName = *nodeName
		case "region":
			cfg.Region = *region
		case "gossip":
			cfg.Gossip = *gossipAddr
		case "join":
			cfg.Join = join
		case "gossip-key":
			cfg.GossipKeys = gossipKeys
		case "peer":
			cfg.Peer = *peer
		}
	})
	if cfg.Token == "" {
		cfg.Token = os.Getenv("EDGE_TOKEN")
	}
	return cfg, nil
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
	if cfg.QueueWaitS != "" {
		d, err := time.ParseDuration(cfg.QueueWaitS)
		if err != nil || d <= 0 {
			return fmt.Errorf("config %s: queue_wait: %q is not a positive duration", path, cfg.QueueWaitS)
		}
		cfg.QueueWait = d
	}
	if cfg.Data == "" {
		return errors.New("config " + path + ": data must not be empty")
	}
	return nil
}
