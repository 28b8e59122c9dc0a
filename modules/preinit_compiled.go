package modules

import (
	"crypto/sha256"
	"sync"
)

// instrumentedCache keeps the last instrumented module the snapshot
// engine compiled. Deriving a snapshot compiles the instrumented module
// before init runs; for the JavaScript engine (modules/js) that is the
// same 19 MB module for every script, and compiling it takes seconds, so
// a node (or a test) deriving several scripts compiles it once. One entry
// is enough for that and bounds the memory held; an entry replaced while
// a derivation still uses it is freed when that derivation is done.
type instrumentedCache struct {
	mu     sync.Mutex
	digest [32]byte
	m      *cModule
	users  map[*cModule]int
	stale  map[*cModule]bool
}

// acquire returns the compiled, pre-instantiated module for the
// instrumented bytes inst, compiling it on a miss, and a release to call
// when done with it.
func (ic *instrumentedCache) acquire(c *cEngine, inst []byte) (*cModule, func(), error) {
	d := sha256.Sum256(inst)
	ic.mu.Lock()
	if ic.m != nil && ic.digest == d {
		m := ic.m
		ic.users[m]++
		ic.mu.Unlock()
		return m, func() { ic.release(m) }, nil
	}
	ic.mu.Unlock()
	mod, err := c.compileOnly(inst)
	if err != nil {
		return nil, nil, err
	}
	m, err := c.preinstantiate(mod)
	if err != nil {
		return nil, nil, err
	}
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.users == nil {
		ic.users, ic.stale = map[*cModule]int{}, map[*cModule]bool{}
	}
	if old := ic.m; old != nil {
		if ic.users[old] == 0 {
			old.close()
		} else {
			ic.stale[old] = true
		}
	}
	ic.digest, ic.m = d, m
	ic.users[m]++
	return m, func() { ic.release(m) }, nil
}

func (ic *instrumentedCache) release(m *cModule) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.users[m]--
	if ic.users[m] == 0 {
		delete(ic.users, m)
		if ic.stale[m] {
			delete(ic.stale, m)
			m.close()
		}
	}
}
