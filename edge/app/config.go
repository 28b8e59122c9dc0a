package app

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/modules"
)

// ConfigFile is the name of an app's config inside its directory.
const ConfigFile = "edge.toml"

// Config is an app's edge.toml: its name, the hosts it answers, and its
// routes. See the README for the format.
type Config struct {
	Name   string      `toml:"name"`
	Hosts  []string    `toml:"hosts"`
	Routes []RouteSpec `toml:"routes"`
}

// RouteSpec is one [[routes]] entry. A route is dynamic (Module), static
// (Static) or proxied to an origin (Origin): exactly one of them.
type RouteSpec struct {
	Path         string            `toml:"path"`
	Module       string            `toml:"module"`
	Executor     string            `toml:"executor"`
	Env          map[string]string `toml:"env"`
	Memory       string            `toml:"memory"`
	Timeout      string            `toml:"timeout"`
	MaxOutput    string            `toml:"max_output"`
	Static       string            `toml:"static"`
	CacheControl string            `toml:"cache_control"`
	// Internal static routes answer no request of their own: their files
	// are served only when a module of the app names one (X-Edge-Static),
	// after checking whatever it checks (a signed URL, a session).
	Internal bool `toml:"internal"`
	// Preinit: unset pre-initialises an edge ABI reactor or a module that
	// exports wizer.initialize; true requires an init function; false
	// runs the module as it is (docs/preinit.md).
	Preinit *bool `toml:"preinit"`
	// Script is a JavaScript route's handler (executor = "js", docs/js.md).
	Script string `toml:"script"`
	OriginSpec
	OutboundSpec
}

// ErrConfig is returned for any edge.toml that cannot be used; the
// wrapping error names the file, the field and the reason.
var ErrConfig = errors.New("invalid app config")

// configError builds "FILE: FIELD: reason" wrapping ErrConfig.
func configError(file, field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	return fmt.Errorf("%s: %w: %s", file, ErrConfig, msg)
}

// ParseConfig decodes and validates an edge.toml. file names it in
// errors. Unknown fields are errors, so a typo never silently changes
// behaviour.
func ParseConfig(file string, data []byte) (*Config, error) {
	var m Config
	md, err := toml.Decode(string(data), &m)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, configError(file, "", "line %d: %s", perr.Position.Line, perr.Message)
		}
		return nil, configError(file, "", "%v", err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		return nil, configError(file, unknownField(data, undecoded[0]), "unknown field%s", didYouMean(undecoded[0]))
	}
	if err := m.validate(file); err != nil {
		return nil, err
	}
	return &m, nil
}

// unknownField names an unknown key the way other errors name fields:
// "routes[1].modul" rather than the decoder's "routes.modul".
func unknownField(data []byte, key toml.Key) string {
	if len(key) != 2 || key[0] != "routes" {
		return key.String()
	}
	var raw struct {
		Routes []map[string]any `toml:"routes"`
	}
	if _, err := toml.Decode(string(data), &raw); err == nil {
		for i, r := range raw.Routes {
			if _, ok := r[key[1]]; ok {
				return fmt.Sprintf("routes[%d].%s", i, key[1])
			}
		}
	}
	return key.String()
}

func (m *Config) validate(file string) error {
	if !cache.ValidLabel(m.Name) {
		return configError(file, "name", "%q must be 1-63 lower-case letters, digits or '-'", m.Name)
	}
	if len(m.Hosts) == 0 {
		return configError(file, "hosts", "at least one host is required (\"*\" answers any)")
	}
	seenHost := map[string]bool{}
	for i, h := range m.Hosts {
		h = strings.ToLower(h)
		if err := validHost(h); err != nil {
			return configError(file, fmt.Sprintf("hosts[%d]", i), "%q %v", h, err)
		}
		if seenHost[h] {
			return configError(file, fmt.Sprintf("hosts[%d]", i), "%q is listed twice", h)
		}
		seenHost[h] = true
		m.Hosts[i] = h
	}
	if len(m.Routes) == 0 {
		return configError(file, "routes", "at least one [[routes]] entry is required")
	}
	seen := map[string]int{}
	for i := range m.Routes {
		r := &m.Routes[i]
		field := fmt.Sprintf("routes[%d]", i)
		if err := r.validate(); err != nil {
			return configError(file, field+"."+err.field, "%s", err.msg)
		}
		if j, dup := seen[r.Path]; dup {
			return configError(file, field+".path", "%q is also the path of routes[%d]", r.Path, j)
		}
		seen[r.Path] = i
	}
	return nil
}

// validHost accepts "*", an IP address, or a DNS name.
func validHost(h string) error {
	if h == "*" || net.ParseIP(h) != nil {
		return nil
	}
	if len(h) > 253 {
		return errors.New("is longer than 253 characters")
	}
	for _, label := range strings.Split(h, ".") {
		if !cache.ValidLabel(label) {
			return errors.New("is not a host name, an IP address or \"*\"")
		}
	}
	return nil
}

// fieldError names the field of a route that is wrong.
type fieldError struct{ field, msg string }

func bad(field, format string, args ...any) *fieldError {
	return &fieldError{field, fmt.Sprintf(format, args...)}
}

func (r *RouteSpec) validate() *fieldError {
	if err := validRoutePath(r.Path); err != nil {
		return bad("path", "%q %s", r.Path, err.Error())
	}
	switch {
	case r.Origin != "":
		return r.validateOrigin()
	case r.Script != "":
		return r.validateScript()
	case r.Module == "" && r.Static == "":
		return bad("module", "a route needs module (dynamic) or static (files) or origin (proxy)")
	case r.Module != "" && r.Static != "":
		return bad("static", "a route has module or static, not both")
	case r.Static != "":
		return r.validateStatic()
	}
	return r.validateDynamic()
}

func (r *RouteSpec) validateStatic() *fieldError {
	if f := r.OriginSpec.setField(); f != "" {
		return bad(f, "applies to origin routes only")
	}
	if f := r.OutboundSpec.setField(); f != "" {
		return bad(f, "applies to edge ABI routes only")
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"executor", r.Executor != ""}, {"env", r.Env != nil}, {"memory", r.Memory != ""},
		{"timeout", r.Timeout != ""}, {"max_output", r.MaxOutput != ""},
		{"preinit", r.Preinit != nil},
	} {
		if f.set {
			return bad(f.name, "applies to module routes only")
		}
	}
	return nil
}

func (r *RouteSpec) validateDynamic() *fieldError {
	if r.Internal {
		return bad("internal", "applies to static routes only")
	}
	if err := r.validateOutbound(); err != nil {
		return err
	}
	if f := r.OriginSpec.setField(); f != "" && !r.outboundCA() {
		return bad(f, "applies to origin routes only (and origin_ca to edge ABI routes with allowed_outbound_hosts)")
	}
	if r.CacheControl != "" {
		return bad("cache_control", "applies to static routes only (a module sets its own headers)")
	}
	if r.Executor == "" {
		r.Executor = "wagi"
	}
	if r.Executor == "js" && r.Script == "" {
		return bad("executor", "\"js\" runs a script: set script = \"handler.js\" instead of module")
	}
	if r.Executor != "wagi" && r.Executor != "edge" && (r.Executor != "js" || r.Script == "") {
		return bad("executor", "%q is not supported (use \"wagi\", \"edge\" or \"js\")", r.Executor)
	}
	for k := range r.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return bad("env", "%q is not a valid variable name", k)
		}
	}
	if _, err := parseSize(r.Memory); err != nil {
		return bad("memory", "%v", err)
	}
	if n, err := parseSize(r.MaxOutput); err != nil {
		return bad("max_output", "%v", err)
	} else if n > modules.MaxOutputCeiling {
		return bad("max_output", "%s is more than any node allows (%d MiB)", r.MaxOutput, modules.MaxOutputCeiling>>20)
	}
	if _, err := parseTimeout(r.Timeout); err != nil {
		return bad("timeout", "%v", err)
	}
	return nil
}

// validRoutePath accepts "/exact/path", "/prefix/..." and "/...".
func validRoutePath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New("must start with /")
	}
	if strings.HasPrefix(p, "//") {
		return errors.New("must not contain // or end in /")
	}
	base := strings.TrimSuffix(p, "/...")
	if base == "" {
		return nil // "/..."
	}
	if strings.Contains(base, "...") || strings.ContainsAny(base, "?#*") {
		return errors.New("may use a wildcard only as a final \"/...\" and no ? # or *")
	}
	if strings.Contains(base, "//") || strings.HasSuffix(base, "/") && base != "/" {
		return errors.New("must not contain // or end in /")
	}
	for _, seg := range strings.Split(base, "/") {
		if seg == "." || seg == ".." {
			return errors.New("must not contain . or .. segments")
		}
	}
	return nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1},
}

// parseSize reads "64MiB", "512 KiB", "1GB" or a plain byte count. Empty is
// zero: the default applies.
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a size (write e.g. 64MiB, 512KiB or a byte count)", s)
	}
	return n * mult, nil
}

// maxTimeout bounds a route's deadline: a request that may run for longer
// than this is a batch job, not an edge request.
const maxTimeout = 10 * time.Minute

func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (write e.g. 2s or 500ms)", s)
	}
	if d < time.Millisecond || d > maxTimeout {
		return 0, fmt.Errorf("%s is outside 1ms to %s", d, maxTimeout)
	}
	return d, nil
}
