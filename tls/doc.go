// Package edgetls holds the node's TLS certificate management.
//
// Today that is a local development certificate authority ([DevCA]): on
// first start the node creates a self-signed CA in its data directory
// (ca.pem + ca.key) and issues short-lived leaf certificates from it on
// demand, for the names the node's apps serve. A fresh machine can then be
// reached over HTTPS and HTTP/3 with nothing more than
//
//	curl --cacert <data>/tls/ca.pem https://127.0.0.1:8443/
//
// The CA is for development only: anyone holding ca.key can mint
// certificates for any name, so never install ca.pem in a system trust store
// you care about.
//
// [Manager] puts the sources together: publicly trusted certificates from
// an ACME CA (certmagic, its [Storage] on the node's bbolt file) for the
// public host names the apps list, the dev CA for local names, and no
// certificate at all for a name no app serves ([Names]).
//
// The package is named edgetls but lives in the folder tls; inside it the
// standard crypto/tls package is imported as ctls.
package edgetls
