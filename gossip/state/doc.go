// Package state orders the states of deployed apps across a mesh without
// coordination. Every change (deploy, rollback, removal) made on any node
// is a new AppState stamped by that node: a per-app generation that every
// change advances, then a hybrid logical clock, then the node's id. The
// state with the highest Stamp wins on every node, so all nodes pick the
// same winner whatever order messages arrive in. A removal is a state
// too (a tombstone), so a node that missed it cannot bring the app back.
//
// The ordering lives here, not in the store: package cache keeps the
// encoded stamp of each app as an opaque Head and lets a Ledger decide,
// inside the transaction that changes the app's versions, whether a
// change wins. Deployer (edge/deploy) and mesh (gossip) share it.
package state
