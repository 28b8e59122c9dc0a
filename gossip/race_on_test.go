//go:build race

package gossip_test

// raceOn: the race detector slows marshalling tenfold; heavy tests shrink.
const raceOn = true
