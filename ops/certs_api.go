package ops

import (
	"net/http"
	"time"

	"github.com/edgecdn/edge/ops/api"
	edgetls "github.com/edgecdn/edge/tls"
	"github.com/prometheus/client_golang/prometheus"
)

// certs serves GET /v1/certs: every host name the apps serve, with where
// its certificate comes from and when it expires; with ?members=1, every
// member's list too.
func (a *Admin) certs(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Certs == nil {
		writeError(w, http.StatusNotImplemented, "this node has no certificate manager")
		return
	}
	body := api.CertsBody{Certs: a.cfg.Certs()}
	if r.URL.Query().Get("members") != "" {
		if a.cfg.MemberCerts == nil {
			writeError(w, http.StatusNotImplemented, "this node is not in a mesh")
			return
		}
		members, err := a.cfg.MemberCerts(r.Context())
		if err != nil {
			writeError(w, http.StatusNotImplemented, err.Error())
			return
		}
		body.Members = members
	}
	writeJSON(w, http.StatusOK, body)
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
