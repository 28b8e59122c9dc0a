// Package api holds the wire types of the node's admin API: the bodies
// the server (package ops) writes and the client (package ops/client)
// reads. Defined once here, so the two cannot drift.
//
// The cache's own reports and the signed manifest are aliases of the
// types that produce them: they are already plain JSON structs, and a
// second copy would be a second definition.
package api

import (
	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/gossip"
	"github.com/edgecdn/edge/gossip/trust"
	edgetls "github.com/edgecdn/edge/tls"
)

// Paths of the admin API, relative to its base URL.
const (
	PathHealth       = "/healthz"
	PathStats        = "/v1/stats"
	PathBlobsMissing = "/v1/blobs/missing"
	PathBlobs        = "/v1/blobs/" // + digest
	PathApps         = "/v1/apps"   // + "/" + name [+ "/versions" | "/activate"]
	PathMembers      = "/v1/members"
	PathGossipKeys   = "/v1/gossip/keys"
	PathCache        = "/v1/cache/" // + stats | verify | gc
)

// Error is the body of every error response. Missing is set on a deploy
// refused because blobs are gone (409): upload them and submit again.
// Code names a refusal a client acts upon (CodeStaleSeq).
type Error struct {
	Error   string   `json:"error"`
	Missing []string `json:"missing,omitempty"`
	Code    string   `json:"code,omitempty"`
}

// CodeStaleSeq marks a 409 for a statement whose sequence is not above
// the app's current one: a replay, or a change that landed first. A
// client signs again at the new sequence.
const CodeStaleSeq = "stale_seq"

// Manifest is a signed app version, submitted to POST /v1/apps/{name}/versions.
type Manifest = cache.Manifest

// Statement is a deploy key holder's signed order for one app (deploy,
// activate, remove) at a sequence: every change carries one.
type Statement = trust.Statement

// VersionRequest is the body of POST /v1/apps/{name}/versions: the
// manifest's fields with the statement that orders its deploy beside them.
type VersionRequest struct {
	Manifest
	Statement *Statement `json:"statement,omitempty"`
}

// AppState is the answer of GET /v1/apps/{name}/state: the app's current
// sequence (a change is signed at Seq+1; 0 for an app never deployed).
type AppState struct {
	App string `json:"app"`
	Seq int    `json:"seq"`
}

// RemoveRequest is the body of DELETE /v1/apps/{name}.
type RemoveRequest struct {
	Statement *Statement `json:"statement,omitempty"`
}

// FileRef is one file of a Manifest.
type FileRef = cache.FileRef

// History is the answer of GET /v1/apps/{name}/versions.
type History = cache.AppVersions

// Cache reports: GET /v1/cache/stats, POST /v1/cache/verify, POST /v1/cache/gc.
type (
	CacheStats   = cache.Stats
	VerifyReport = cache.VerifyReport
	GCReport     = cache.GCReport
)

// MissingRequest and MissingResponse are the bodies of POST /v1/blobs/missing.
type MissingRequest struct {
	Digests []string `json:"digests"`
}

type MissingResponse struct {
	Missing []string `json:"missing"`
}

// BlobStored is the answer of PUT /v1/blobs/{digest}.
type BlobStored struct {
	Digest string `json:"digest"`
	Stored bool   `json:"stored"` // false: the node had it already
	Size   int64  `json:"size,omitempty"`
}

// DeployResult is what a deploy or an activation made live.
type DeployResult struct {
	App     string   `json:"app"`
	Version int      `json:"version"`
	URLs    []string `json:"urls"`
	Pruned  []int    `json:"pruned,omitempty"`
	// ReplacedDemo is set when this deploy took over from the embedded
	// demo, which answered every host: the deployed app now does instead.
	ReplacedDemo bool `json:"replaced_demo,omitempty"`
}

// ActivateRequest is the body of POST /v1/apps/{name}/activate.
type ActivateRequest struct {
	Version   int        `json:"version"`
	Statement *Statement `json:"statement,omitempty"`
}

// Removed is the answer of DELETE /v1/apps/{name}.
type Removed struct {
	Removed string `json:"removed"`
}

// AppStatus is one app as GET /v1/apps lists it.
type AppStatus struct {
	Name     string   `json:"name"`
	Source   string   `json:"source"`
	Hosts    []string `json:"hosts"`
	Active   int      `json:"active,omitempty"`   // deployed apps only
	Versions []int    `json:"versions,omitempty"` // retained, oldest first
	URLs     []string `json:"urls"`
}

// AppList is the answer of GET /v1/apps.
type AppList struct {
	Apps []AppStatus `json:"apps"`
}

// DeployStats counts what the deploy endpoints received since the node
// started (GET /v1/stats): a redeploy of unchanged files adds nothing to
// BlobBytes.
type DeployStats struct {
	Blobs     int64 `json:"blobs_uploaded"`
	BlobBytes int64 `json:"bytes_uploaded"`
	Deploys   int64 `json:"deploys"`
	Refused   int64 `json:"deploys_refused"`
}

// Members is the answer of GET /v1/members: every node of the mesh, and
// which one answered.
type Members struct {
	Self    string   `json:"self"`
	Members []Member `json:"members"`
}

// Member and MemberApp are the mesh's own records of a node and of an
// app on it (package gossip): already plain JSON, so one definition.
type (
	Member    = gossip.Member
	MemberApp = gossip.MemberApp
)

// KeyRequest is the body of POST /v1/gossip/keys.
type KeyRequest struct {
	Op  string `json:"op"`  // install, use or remove
	Key string `json:"key"` // base64
}

// KeysResponse lists the keyring by fingerprint (sha256 of the key, first
// 8 bytes in hex): keys never leave the node.
type KeysResponse struct {
	Primary string   `json:"primary"`
	Keys    []string `json:"keys"`
}

// DemoSource is the source of the embedded demo app a node serves while
// nothing else is loaded or deployed. It answers every host: the first
// deploy replaces it.
const DemoSource = "embedded demo"

// CertsBody is the answer of GET /v1/certs: every host name the node's
// apps serve, with its certificate.
type CertsBody struct {
	Certs []edgetls.CertInfo `json:"certs"`
	// Members, asked for with ?members=1 in a mesh, is every alive
	// member's list.
	Members []MemberCerts `json:"members,omitempty"`
}

// MemberCerts is one member's certificates, or why they could not be read.
type MemberCerts struct {
	Name  string             `json:"name"`
	Certs []edgetls.CertInfo `json:"certs,omitempty"`
	Error string             `json:"error,omitempty"`
}

// PurgeRequest is the body of POST /v1/purge: exactly one of URL (one
// object, every variant), Prefix (every object whose URL starts with it)
// or Tag (every object whose Surrogate-Key lists it). Soft marks them
// stale instead of removing them: the next request revalidates while the
// others are served the stale copy.
//
// Statement, instead, is such a request signed with a deploy key for one
// app (its Purge field is the request's JSON): the node checks it against
// the keys it trusts, applies it to that app's objects only, and sends
// it to every member of its mesh. An unsigned request purges this node
// only.
type PurgeRequest struct {
	URL       string          `json:"url,omitempty"`
	Prefix    string          `json:"prefix,omitempty"`
	Tag       string          `json:"tag,omitempty"`
	Soft      bool            `json:"soft,omitempty"`
	Statement *PurgeStatement `json:"statement,omitempty"`
}

// PurgeStatement is a purge signed for one app (edge purge --app --key).
type PurgeStatement = trust.PurgeStatement

// PurgeResponse says what a purge did on this node.
type PurgeResponse struct {
	Purged  int     `json:"purged"`  // entries removed or marked stale here
	Nodes   int     `json:"nodes"`   // this node and the members it was delivered to
	Seconds float64 `json:"seconds"` // how long applying it took
}
