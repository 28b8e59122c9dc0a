package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge"
	edgetls "github.com/edgecdn/edge/tls"
)

// acmeSettings are the serve flags and config keys for ACME. ACME is on
// when an email or a CA is given; otherwise the node keeps the dev CA.
type acmeSettings struct {
	ACMECA      string `toml:"acme_ca"`
	ACMEEmail   string `toml:"acme_email"`
	ACMECARoot  string `toml:"acme_ca_root"`
	ACMEEABKID  string `toml:"acme_eab_kid"`
	ACMEEABHMAC string `toml:"acme_eab_hmac"`
}

// acmeConfigKeys are the config file keys of acmeSettings, for --help.
const acmeConfigKeys = "acme_ca, acme_email, acme_ca_root, acme_eab_kid, acme_eab_hmac"

// acmeFlags defines the ACME flags on fs.
func acmeFlags(fs *pflag.FlagSet, s *acmeSettings) {
	fs.StringVar(&s.ACMECA, "acme-ca", s.ACMECA, "ACME directory URL; turns ACME on (default with --acme-email: Let's Encrypt production)")
	fs.StringVar(&s.ACMEEmail, "acme-email", s.ACMEEmail, "contact email of the ACME account; turns ACME on")
	fs.StringVar(&s.ACMECARoot, "acme-ca-root", s.ACMECARoot, "PEM file of roots to trust for the ACME server's own HTTPS (a test CA such as pebble)")
	fs.StringVar(&s.ACMEEABKID, "acme-eab-kid", s.ACMEEABKID, "External Account Binding key id, for CAs that require one")
	fs.StringVar(&s.ACMEEABHMAC, "acme-eab-hmac", s.ACMEEABHMAC, "External Account Binding HMAC key (base64url)")
}

// on reports whether ACME is asked for.
func (s acmeSettings) on() bool { return s.ACMECA != "" || s.ACMEEmail != "" }

// acmeConfig turns the settings into the tls package's config (nil: off).
func (s acmeSettings) acmeConfig() (*edgetls.ACMEConfig, error) {
	if !s.on() {
		if s.ACMECARoot != "" || s.ACMEEABKID != "" || s.ACMEEABHMAC != "" {
			return nil, errors.New("--acme-ca-root and --acme-eab-* need --acme-email or --acme-ca")
		}
		return nil, nil
	}
	c := &edgetls.ACMEConfig{CA: s.ACMECA, Email: s.ACMEEmail, EABKeyID: s.ACMEEABKID, EABMACKey: s.ACMEEABHMAC}
	if s.ACMECARoot != "" {
		pemBytes, err := os.ReadFile(s.ACMECARoot)
		if err != nil {
			return nil, fmt.Errorf("--acme-ca-root: %w", err)
		}
		c.Roots = x509.NewCertPool()
		if !c.Roots.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("--acme-ca-root %s: no PEM certificate in it", s.ACMECARoot)
		}
	}
	return c, nil
}

// newCertManager builds the node's certificate manager: names are the
// hosts of the apps the router serves at the moment of asking, so apps
// deployed, arriving by gossip or removed change them with no restart.
func newCertManager(cfg serveConfig, store *cache.Cache, router *edge.Router, log *slog.Logger) (*edgetls.Manager, error) {
	ca, err := edgetls.LoadOrCreateDevCA(filepath.Join(cfg.Data, "tls"))
	if err != nil {
		return nil, err
	}
	acme, err := cfg.acmeSettings.acmeConfig()
	if err != nil {
		return nil, err
	}
	return edgetls.NewManager(edgetls.Config{Names: routerNames(router), DevCA: ca, ACME: acme, Cache: store, Mesh: cfg.meshOn(), Log: log})
}

// routerNames lists the hosts of the router's apps.
func routerNames(router *edge.Router) edgetls.Names {
	return func() []string {
		var names []string
		for _, a := range router.Apps() {
			names = append(names, a.Hosts...)
		}
		return names
	}
}

// useCertManager gives the server its certificates and the plain listener
// its challenge answers and redirects.
func useCertManager(scfg *edge.ServerConfig, m *edgetls.Manager) {
	scfg.TLS = m.TLSConfig()
	scfg.PlainHTTP = m.HTTPHandler
}

// startCertManager begins obtaining certificates once the listeners are
// bound, so challenges reach them.
func startCertManager(m *edgetls.Manager, srv *edge.Server) error {
	return m.Start(edgetls.Listeners{HTTP: srv.HTTPAddr(), HTTPS: srv.HTTPSAddr()})
}

// printCertLines adds one banner line per served host name: where its
// certificate comes from and until when it is valid.
func printCertLines(w io.Writer, m *edgetls.Manager) {
	if m == nil {
		return
	}
	for _, c := range m.Certs() {
		fmt.Fprintf(w, "cert:  %s\n", certLine(c))
	}
}

func certLine(c edgetls.CertInfo) string {
	switch c.Source {
	case "acme":
		return fmt.Sprintf("%s from %s, expires %s", c.Name, c.Issuer, c.NotAfter.UTC().Format(time.RFC3339))
	case "none":
		return c.Name + " ACME order pending (served once issued)"
	}
	return c.Name + " from the dev CA (not publicly trusted)"
}
