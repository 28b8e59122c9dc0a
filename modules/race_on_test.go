//go:build race

package modules_test

// raceOn: the race detector changes what escapes, so allocation counts
// are checked without it.
const raceOn = true
