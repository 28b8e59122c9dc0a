package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

// reloadTrust reads the --trust-key files again (keys added or removed,
// scopes changed) and puts them in force for deploys through the admin
// API and for states gossiped by the mesh. It reports the keys now
// trusted for the log: their number, and each one's file and scope. A node trusting its dev key
// (no --trust-key) has nothing to reload; a file that no longer reads
// leaves every key as it was.
func (n *node) reloadTrust() (string, bool, error) {
	if len(n.cfg.TrustKeys) == 0 {
		return "", false, nil
	}
	keys, _, err := trustedKeys(n.cfg)
	if err != nil {
		return "", false, err
	}
	n.deployer.SetTrusted(keys)
	if n.mesh.mesh != nil {
		n.mesh.mesh.SetTrusted(keys)
	}
	var items []string
	for _, k := range keys {
		items = append(items, filepath.Base(k.Source)+":"+k.Scope())
	}
	return fmt.Sprintf("%d (%s)", len(keys), strings.Join(items, ", ")), true, nil
}
