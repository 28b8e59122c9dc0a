package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/edgecdn/edge/ops"
)

// DefaultDrainTimeout is how long requests in flight get to finish on
// SIGTERM before they are cut (--drain-timeout).
const DefaultDrainTimeout = 30 * time.Second

// stopGrace bounds the rest of a stop, after the drain: the admin API,
// the cache, the engine.
const stopGrace = 5 * time.Second

// requireReadiness lists what /readyz waits for, in the order the node
// brings it up.
func (n *node) requireReadiness() {
	n.ready = ops.NewReadiness()
	n.ready.Require("listeners", "listeners not serving yet")
	n.ready.Require("apps", "apps not loaded yet")
	if n.cfg.meshOn() {
		n.ready.Require("mesh", "mesh not joined yet")
	}
}

// drain is the first half of a graceful stop: /readyz flips to 503 so
// load balancers stop sending, the mesh hears this node leave, every
// listener stops accepting at once, and requests in flight get until
// DrainTimeout; past it they are cut. The stack then stops the rest.
func (n *node) drain() {
	n.ready.Drain()
	start := time.Now()
	n.log.Info("draining", "timeout", n.cfg.DrainTimeout)
	if err := n.mesh.stop(); err != nil {
		n.log.Warn("leaving the mesh", "err", err)
	}
	ctx, cancel := context.WithTimeoutCause(context.Background(), n.cfg.DrainTimeout,
		fmt.Errorf("drain timeout of %s passed", n.cfg.DrainTimeout))
	defer cancel()
	switch err := n.srv.Shutdown(ctx); {
	case err == nil:
		n.log.Info("drained", "duration", time.Since(start).Round(time.Millisecond))
	case ctx.Err() != nil:
		n.log.Warn("requests still in flight were cut", "cause", context.Cause(ctx))
	default:
		n.log.Warn("draining the listeners", "err", err)
	}
}

// stopServer is the server's entry in the stack: after a drain, a
// deadline that cut requests is not a failed stop.
func (n *node) stopServer(ctx context.Context) error {
	if err := n.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
