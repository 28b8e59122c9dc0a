package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgecdn/edge/gossip/trust"
	"github.com/spf13/cobra"
)

// devKey is the deploy key a node creates in its data dir when it is told
// to trust no key: `edge deploy` run next to that data dir finds it.
const devKey = "deploy"

// keygenCmd is `edge keygen --out NAME`: a deploy key pair in NAME.key
// (private, mode 0600) and NAME.pub (give it to nodes with --trust-key);
// with --gossip, a gossip key.
func keygenCmd() *cobra.Command {
	var out string
	var gossipKey bool
	cmd := &cobra.Command{
		Use:     "keygen --out NAME",
		Short:   "Write a deploy key pair (--out NAME) or a gossip key (--gossip)",
		Example: "  edge keygen --out ci\n  edge keygen --gossip --out mesh",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if gossipKey {
				return writeGossipKey(out, cmd.OutOrStdout())
			}
			if out == "" {
				return usagef("--out NAME is required")
			}
			pub, err := trust.GenerateDeployKey(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s.key (secret: sign deploys with edge deploy --key %s.key)\nwrote %s.pub (trust it: edge serve --trust-key %s.pub)\n%s\n",
				out, out, out, out, trust.FormatPublicKey(pub))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write NAME.key and NAME.pub (with --gossip: NAME.gossip, else stdout)")
	cmd.Flags().BoolVar(&gossipKey, "gossip", false, "write a gossip key (AES-256) for a mesh instead: give it to every node with --gossip-key")
	return cmd
}

// signingKey reads --key, by default the dev key of the local node's data
// dir: deploys, rollbacks and removals are all signed with it.
func signingKey(keyFile, data string) (ed25519.PrivateKey, error) {
	if keyFile == "" {
		keyFile = filepath.Join(data, devKey+".key")
	}
	return readDeployKey(keyFile)
}

// readDeployKey reads the private key deploys are signed with.
func readDeployKey(file string) (ed25519.PrivateKey, error) {
	key, err := trust.ReadPrivateKey(file)
	if err != nil {
		return nil, fmt.Errorf("%w (give a key made by edge keygen with --key)", err)
	}
	return key, nil
}

// errMeshNeedsTrustKey refuses a mesh node without --trust-key.
var errMeshNeedsTrustKey = errors.New("a mesh node needs --trust-key: every node must trust the same deploy key " +
	"(make one with edge keygen --out ci, start every node with --trust-key ci.pub, deploy with --key ci.key); " +
	"the dev key a single node creates would differ on each node")

// trustedKeys reads the --trust-key files (FILE or FILE:APPS, its keys
// limited to those apps; one key a line); with none, it creates (once) and trusts the
// data dir's dev key. note says which, for the banner.
func trustedKeys(cfg serveConfig) (keys trust.Keyring, note string, err error) {
	var scoped []string
	for _, f := range cfg.TrustKeys {
		ks, err := trust.ReadTrustKeys(f)
		if err != nil {
			return nil, "", err
		}
		for _, k := range ks {
			keys = append(keys, k)
			if len(k.Apps) > 0 {
				scoped = append(scoped, filepath.Base(k.Source)+" for "+k.Scope())
			}
		}
	}
	if len(keys) > 0 {
		note = fmt.Sprintf("signed by %d trusted key(s)", len(keys))
		if len(scoped) > 0 {
			note += fmt.Sprintf(" (%s)", strings.Join(scoped, "; "))
		}
		return keys, note, nil
	}
	if cfg.meshOn() {
		// Each node's dev key would differ: a deploy signed on one node
		// would serve there and be refused by every other member.
		return nil, "", errMeshNeedsTrustKey
	}
	base := filepath.Join(cfg.Data, devKey)
	pub, created, err := loadOrCreateDevKey(base)
	if err != nil {
		return nil, "", err
	}
	verb := "trusting"
	if created {
		verb = "created and trusting"
	}
	return trust.Unscoped(pub), fmt.Sprintf("%s dev key %s.key (no --trust-key given)", verb, base), nil
}

// loadOrCreateDevKey finds base.key, or creates the pair. A crash between
// writing the two files is repaired from the private key.
func loadOrCreateDevKey(base string) (ed25519.PublicKey, bool, error) {
	priv, err := trust.ReadPrivateKey(base + ".key")
	if errors.Is(err, fs.ErrNotExist) {
		pub, err := trust.GenerateDeployKey(base)
		return pub, err == nil, err
	}
	if err != nil {
		return nil, false, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	if _, err := os.Stat(base + ".pub"); errors.Is(err, fs.ErrNotExist) {
		err = os.WriteFile(base+".pub", []byte(trust.FormatPublicKey(pub)+"\n"), 0o644)
		if err != nil {
			return nil, false, err
		}
	}
	return pub, false, nil
}
