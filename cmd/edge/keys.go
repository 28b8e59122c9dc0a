package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/edgecdn/edge/gossip/trust"
)

// devKey is the deploy key a node creates in its data dir when it is told
// to trust no key: `edge deploy` run next to that data dir finds it.
const devKey = "deploy"

// runKeygen is `edge keygen --out NAME`: a deploy key pair in NAME.key
// (private, mode 0600) and NAME.pub (give it to nodes with --trust-key).
func runKeygen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("edge keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write NAME.key and NAME.pub (with --gossip: NAME.gossip)")
	gossipKey := fs.Bool("gossip", false, "write a gossip key (AES-256) for a mesh instead: give it to every node with --gossip-key")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *gossipKey {
		return writeGossipKey(*out, stdout)
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: edge keygen --out NAME")
		return errUsage
	}
	pub, err := trust.GenerateDeployKey(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s.key (secret: sign deploys with edge deploy --key %s.key)\nwrote %s.pub (trust it: edge serve --trust-key %s.pub)\n%s\n",
		*out, *out, *out, *out, trust.FormatPublicKey(pub))
	return nil
}

// trustedKeys reads the --trust-key files; with none, it creates (once)
// and trusts the data dir's dev key. note says which, for the banner.
func trustedKeys(cfg serveConfig) (keys []ed25519.PublicKey, note string, err error) {
	for _, f := range cfg.TrustKeys {
		pub, err := trust.ReadPublicKey(f)
		if err != nil {
			return nil, "", err
		}
		keys = append(keys, pub)
	}
	if len(keys) > 0 {
		return keys, fmt.Sprintf("signed by %d trusted key(s)", len(keys)), nil
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
	return []ed25519.PublicKey{pub}, fmt.Sprintf("%s dev key %s.key (no --trust-key given)", verb, base), nil
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
