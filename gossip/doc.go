// Package gossip joins nodes into a mesh (hashicorp/memberlist, SWIM) and
// makes every node converge on the same state of every app, with no
// central control plane.
//
// What is gossiped per app is a small record, a [state.AppState]: the
// version that serves with its signed manifest, or a tombstone, with the
// statement a deploy key holder signed to order it, stamped (generation =
// the statement's sequence, hybrid logical clock, origin node). The state with the
// highest stamp wins on every node, so two deploys made on both sides of a
// partition resolve to the same winner everywhere without coordination.
//
// A change leaves its node three ways: sent directly over TCP to every
// member it knows (fast), queued on memberlist's broadcast queue and
// relayed once by every node that sees it first (reaches members the
// origin did not know), and in the full-state push/pull exchange
// (anti-entropy: a node that missed messages, was down or partitioned,
// catches up). Every node verifies the statement (a trusted key whose
// scope covers the app, describing the state, a sequence above the
// current one and not leaping past it) and the manifest's signature
// before it accepts, relays or applies a state, whoever sent it: the
// gossip key admits members, it does not authorize changes.
//
// A node that lacks blobs of a winning version fetches them by digest from
// peers over the peer endpoint (mutual TLS with keys derived from the
// gossip keyring, see [PeerTLS]), preferring peers of its own region,
// each fetch bounded by the manifest's size and a timeout, verifies their
// sha256, then hands the state to its [Applier], which compiles and
// activates it atomically; four apps at a time.
//
// Gossip is encrypted and authenticated with a keyring of AES keys: a node
// without the key can neither join nor inject. Lifecycle: New has no side
// effects, Start binds and joins, Stop leaves gracefully and may be called
// twice.
package gossip
