package ops

import (
	"net/http"
	"strconv"
	"time"

	edgetls "github.com/edgecdn/edge/tls"
)

// CertsBody is the answer of GET /v1/certs.
type CertsBody struct {
	Certs []edgetls.CertInfo `json:"certs"`
}

// certs serves GET /v1/certs: every host name the apps serve, with where
// its certificate comes from and when it expires.
func (a *Admin) certs(w http.ResponseWriter, _ *http.Request) {
	if a.cfg.Certs == nil {
		writeError(w, http.StatusNotImplemented, "this node has no certificate manager")
		return
	}
	writeJSON(w, http.StatusOK, CertsBody{Certs: a.cfg.Certs()})
}

// certMetrics is one gauge per name holding an ACME certificate: seconds
// until it expires, for alerts on renewals that keep failing.
func certMetrics(certs []edgetls.CertInfo, now time.Time) []metric {
	var ms []metric
	for _, c := range certs {
		if c.NotAfter.IsZero() {
			continue
		}
		ms = append(ms, metric{"edge_tls_cert_expiry_seconds", "Seconds until the certificate of a served host name expires.", "gauge",
			`name=` + strconv.Quote(c.Name), c.NotAfter.Sub(now).Seconds()})
	}
	return ms
}
