package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/edgecdn/edge/ops/api"
)

// Sentinel errors an *Error matches with errors.Is, by the node's status.
var (
	// ErrUnauthorized is returned when the node refuses the token (401).
	ErrUnauthorized = errors.New("the node refused the admin token")
	// ErrNotFound is returned when the app or version does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrNotInMesh is returned by mesh calls to a node alone (501).
	ErrNotInMesh = errors.New("this node is not in a mesh")
	// ErrStaleSeq is returned when the node refused a statement whose
	// sequence is not above the app's current one (409): a replay, or
	// another change landed first.
	ErrStaleSeq = errors.New("the signed sequence is not above the app's current one")
)

// Error is a refusal by the node: its status and message, cleaned of the
// node's internal prefixes, and for a deploy whose blobs went missing,
// which ones.
type Error struct {
	Status  int
	Message string
	Missing []string
	Code    string // api.CodeStaleSeq, or ""
}

func (e *Error) Error() string {
	msg := clean(e.Message)
	switch e.Status {
	case http.StatusUnauthorized:
		return "the node refused the admin token (401): give the node's token with --token or $" + TokenEnv +
			", or --data pointing at the node's data directory (its " + TokenFile + ")"
	case http.StatusNotImplemented:
		return msg
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("the node refused (%d %s): %s", e.Status, http.StatusText(e.Status), msg)
}

// Is maps statuses to the sentinel errors above.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrNotInMesh:
		return e.Status == http.StatusNotImplemented
	case ErrStaleSeq:
		return e.Status == http.StatusConflict && e.Code == api.CodeStaleSeq
	}
	return false
}

// UnreachableError is returned when nothing answers at the node's address.
type UnreachableError struct {
	Node string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("no node answers at %s: is `edge serve` running there, and is --node its admin address? (%v)", e.Node, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// internalPrefixes are the package names the node's errors carry in
// front of their parts: they say where, not what.
var internalPrefixes = map[string]bool{"cache": true, "edge": true, "ops": true, "gossip": true, "modules": true}

// clean drops the node's internal prefixes from a message:
// "cache: remove app: cache: no such app version: x" becomes
// "remove app: no such app version: x".
func clean(msg string) string {
	parts := strings.Split(strings.TrimSpace(msg), ": ")
	kept := parts[:0]
	for _, p := range parts {
		if !internalPrefixes[p] {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ": ")
}
