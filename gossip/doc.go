// Package gossip joins nodes into a mesh (hashicorp/memberlist, SWIM) and
// makes every node converge on the same state of every app, with no
// central control plane.
//
// What is gossiped per app is a small record, a [state.AppState]: the
// version that serves with its signed manifest, or a tombstone, stamped
// (generation, hybrid logical clock, origin node). The state with the
// highest stamp wins on every node, so two deploys made on both sides of a
// partition resolve to the same winner everywhere without coordination.
//
// A change leaves its node three ways: sent directly over TCP to every
// member it knows (fast), queued on memberlist's broadcast queue and
// relayed once by every node that sees it first (reaches members the
// origin did not know), and in the full-state push/pull exchange
// (anti-entropy: a node that missed messages, was down or partitioned,
// catches up). Every node verifies the manifest's signature before it
// accepts, relays or applies a state, whoever sent it.
//
// A node that lacks blobs of a winning version fetches them by digest from
// peers over the peer endpoint (HTTP, authenticated by a token derived
// from the gossip key, see [PeerToken]), preferring peers of its own
// region, verifies their sha256, then hands the state to its [Applier],
// which compiles and activates it atomically.
//
// Gossip is encrypted and authenticated with a keyring of AES keys: a node
// without the key can neither join nor inject. Lifecycle: New has no side
// effects, Start binds and joins, Stop leaves gracefully and may be called
// twice.
package gossip
