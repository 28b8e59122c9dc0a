// Package deploy turns signed manifests into live apps: Deploy, Activate
// (rollback), Remove, and ApplyRemote for states made elsewhere in the
// mesh. Every change takes one path: load the version completely, prepare
// the routing table, commit to the cache in one transaction, install the
// table. A crash at any moment leaves the old version or the new one whole.
package deploy
