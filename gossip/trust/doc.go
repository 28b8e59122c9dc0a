// Package trust holds deploy keys and the signatures they make: the key
// files (`edge keygen`), the canonical bytes a deploy manifest is signed
// over, signing and verification against the keys a node trusts.
//
// It is shared by the CLI (which signs), the deployer and the mesh (which
// verify before applying or relaying): the rules live in one place.
package trust
