package ops

import (
	"net/http"
	"time"

	"github.com/edgecdn/edge/ops/api"
	edgetls "github.com/edgecdn/edge/tls"
	"github.com/prometheus/client_golang/prometheus"
)

// certs serves GET /v1/certs: every host name the apps serve, with where
// its certificate comes from and when it expires.
func (a *Admin) certs(w http.ResponseWriter, _ *http.Request) {
	if a.cfg.Certs == nil {
		writeError(w, http.StatusNotImplemented, "this node has no certificate manager")
		return
	}
	writeJSON(w, http.StatusOK, api.CertsBody{Certs: a.cfg.Certs()})
}

// certCollector reports, per name holding a certificate with an expiry,
// the seconds until it expires: alerts catch renewals that keep failing.
type certCollector struct {
	certs func() []edgetls.CertInfo
	desc  *prometheus.Desc
}

func newCertCollector(certs func() []edgetls.CertInfo) *certCollector {
	return &certCollector{certs: certs, desc: prometheus.NewDesc("edge_tls_cert_expiry_seconds",
		"Seconds until the certificate of a served host name expires.", []string{"name"}, nil)}
}

func (c *certCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, cert := range c.certs() {
		if !cert.NotAfter.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, cert.NotAfter.Sub(now).Seconds(), cert.Name)
		}
	}
}
