package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/edge/app"
	"github.com/edgecdn/edge/edge/deploy"
	"github.com/edgecdn/edge/gossip/trust"
	"github.com/edgecdn/edge/ops"
)

// runDeploy is `edge deploy DIR`: pack the app, upload what the node
// lacks, submit the signed manifest, print the new version and its URLs.
func runDeploy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("edge deploy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	keyFile := fs.String("key", "", "deploy key to sign with (default: DATA/deploy.key, the dev key of a local node)")
	wait := fs.Duration("wait", 30*time.Second, "in a mesh, wait this long for every node to serve the new version (0: do not wait)")
	if err := fs.Parse(reorder(args)); err != nil {
		return errUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: edge deploy DIR [--node URL] [--token T] [--key FILE]")
		return errUsage
	}
	client, err := cf.client()
	if err != nil {
		return err
	}
	if *keyFile == "" {
		*keyFile = filepath.Join(cf.data, devKey+".key")
	}
	key, err := trust.ReadPrivateKey(*keyFile)
	if err != nil {
		return fmt.Errorf("%w (give a key made by edge keygen with --key)", err)
	}
	b, err := packApp(fs.Arg(0))
	if err != nil {
		return err
	}
	res, up, err := b.deploy(ctx, client, key, newProgress(stderr))
	fmt.Fprintf(stdout, "uploaded %d files, %d bytes\n", up.files, up.bytes)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deployed %s v%d (%d files, %s)\n", res.App, res.Version, len(b.manifest.Files), size(b.manifest.TotalSize()))
	for _, u := range res.URLs {
		fmt.Fprintf(stdout, "  %s\n", u)
	}
	return waitConverged(ctx, client, res.App, res.Version, *wait, stdout)
}

// reorder moves flags before the positional arguments, so that both
// `edge deploy DIR --node URL` and `edge deploy --node URL DIR` work.
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && !isBoolFlag(a) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}

func isBoolFlag(a string) bool {
	a = strings.TrimLeft(a, "-")
	return a == "json" || a == "h" || a == "help"
}

// bundle is a packed app directory: its manifest and where each digest's
// bytes are on disk.
type bundle struct {
	dir      string
	manifest *cache.Manifest
	source   map[string]string // digest → one path (relative) holding it
}

// packApp hashes every file under dir (hidden files and directories, like
// .git, are left out), and checks edge.toml parses before anything is sent.
func packApp(dir string) (*bundle, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	data, err := root.ReadFile(app.ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("%s: no %s: %w", dir, app.ConfigFile, err)
	}
	spec, err := app.ParseConfig(filepath.Join(dir, app.ConfigFile), data)
	if err != nil {
		return nil, err
	}
	b := &bundle{dir: dir, source: map[string]string{}, manifest: &cache.Manifest{
		App: spec.Name, Files: map[string]cache.FileRef{}, Created: time.Now().UTC().Truncate(time.Second),
	}}
	fsys := root.FS()
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != "." && strings.HasPrefix(path.Base(p), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		info, err := fs.Stat(fsys, p)
		if err != nil {
			return fmt.Errorf("%s: %w (a symlink must stay inside the app directory)", p, err)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		ref, err := hashInFS(fsys, p)
		if err != nil {
			return err
		}
		b.manifest.Files[p] = ref
		b.source[ref.Digest] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	return b, nil
}

func hashInFS(fsys fs.FS, p string) (cache.FileRef, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return cache.FileRef{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return cache.FileRef{}, fmt.Errorf("%s: %w", p, err)
	}
	return cache.FileRef{Digest: fmt.Sprintf("%x", h.Sum(nil)), Size: n}, nil
}

// uploaded counts what a deploy sent.
type uploaded struct {
	files int
	bytes int64
}

// deploy uploads missing blobs and submits the manifest. A node that lost
// a blob in between (a concurrent prune) answers 409 with what is missing:
// those are uploaded and the manifest submitted again.
func (b *bundle) deploy(ctx context.Context, c *adminClient, key ed25519.PrivateKey, prog *progress) (*deploy.Result, uploaded, error) {
	var up uploaded
	var ds []string
	for d := range b.source {
		ds = append(ds, d)
	}
	var miss ops.MissingResponse
	if err := c.call(ctx, http.MethodPost, "/v1/blobs/missing", ops.MissingRequest{Digests: ds}, &miss); err != nil {
		return nil, up, err
	}
	missing := miss.Missing
	trust.Sign(b.manifest, key)
	for attempt := 0; ; attempt++ {
		prog.start(missing, b)
		for _, d := range missing {
			n, err := b.upload(ctx, c, d, prog)
			if err != nil {
				prog.done()
				return nil, up, err
			}
			up.files++
			up.bytes += n
			prog.fileDone()
		}
		prog.done()
		var res deploy.Result
		err := c.call(ctx, http.MethodPost, "/v1/apps/"+b.manifest.App+"/versions", b.manifest, &res)
		var ae *apiError
		if errors.As(err, &ae) && len(ae.missing) > 0 && attempt < 3 {
			missing = ae.missing
			continue
		}
		if err != nil {
			return nil, up, fmt.Errorf("deploy refused: %w", err)
		}
		return &res, up, nil
	}
}

func (b *bundle) upload(ctx context.Context, c *adminClient, digest string, prog *progress) (int64, error) {
	rel, ok := b.source[digest]
	if !ok {
		return 0, fmt.Errorf("node asked for blob %s, which this app does not have", digest)
	}
	f, err := os.Open(filepath.Join(b.dir, filepath.FromSlash(rel)))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := c.call(ctx, http.MethodPut, "/v1/blobs/"+digest, io.Reader(&countingReader{r: f, prog: prog}), nil); err != nil {
		return 0, fmt.Errorf("upload %s: %w", rel, err)
	}
	return b.manifest.Files[rel].Size, nil
}
