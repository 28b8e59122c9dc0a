package main

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/edgecdn/edge/cache"
)

// startHint adds to a node's start error what the user can do about it,
// for the two a user meets first: an address another process holds, and
// a data directory another node holds. Other errors pass unchanged.
func startHint(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("%w\n  another process (another edge serve?) listens there: stop it, or give this node a free address with %s (\"\" turns a listener off)", err, addrFlag(err.Error()))
	case errors.Is(err, cache.ErrLocked):
		return fmt.Errorf("%w\n  another edge serve uses this data directory: stop it, or give this node its own --data", err)
	}
	return err
}

// addrFlag names the flag of the listener a bind error is about, from the
// listener's name in it ("listen https (tcp) ADDR").
func addrFlag(msg string) string {
	for _, l := range []struct{ name, flag string }{
		{"listen https", "--https"}, {"listen http", "--http"}, {"listen admin", "--admin"}, {"gossip", "--gossip"},
	} {
		if strings.Contains(msg, l.name) {
			return l.flag
		}
	}
	return "--http, --https or --admin"
}
