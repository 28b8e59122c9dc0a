package edgetls

import (
	"net"
	"net/http"
	"strings"
)

// challengePrefix is where ACME HTTP-01 validations ask.
const challengePrefix = "/.well-known/acme-challenge/"

// HTTPHandler wraps the handler of the plain-HTTP listener: it answers
// ACME HTTP-01 challenges, and sends requests for an app host that has a
// certificate to HTTPS (308, method and body kept). Everything else, and
// every request while ACME is off, goes to next unchanged.
func (m *Manager) HTTPHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, challengePrefix) {
			if iss := m.issuer.Load(); iss != nil && iss.HandleHTTPChallenge(w, r) {
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if host := hostOnly(r.Host); m.HasCertificate(host) {
			http.Redirect(w, r, m.httpsURL(host, r), http.StatusPermanentRedirect)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// httpsURL is r's URL on the HTTPS listener.
func (m *Manager) httpsURL(host string, r *http.Request) string {
	if p := m.httpsPort.Load(); p != nil && *p != "" {
		host = net.JoinHostPort(host, *p)
	}
	return "https://" + host + r.URL.RequestURI()
}

// hostOnly drops the port and a trailing dot, and lower-cases.
func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return normalName(strings.Trim(h, "[]"))
}

// HasCertificate reports whether an app serves name and an ACME
// certificate for it is loaded.
func (m *Manager) HasCertificate(name string) bool {
	c := m.mcache.Load()
	if c == nil || !m.public(name) || !m.cfg.Names.serves(name) {
		return false
	}
	return len(c.AllMatchingCertificates(name)) > 0
}
