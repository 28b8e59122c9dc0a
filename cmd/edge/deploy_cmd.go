package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgecdn/edge/ops/api"
	"github.com/edgecdn/edge/ops/client"
)

// deployOutput is `edge deploy --json`: the node's result and what was sent.
type deployOutput struct {
	api.DeployResult
	Files    int             `json:"files"`
	Bytes    int64           `json:"bytes"`
	Uploaded client.Uploaded `json:"uploaded"`
}

func deployCmd() *cobra.Command {
	var cf clientFlags
	var keyFile string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "deploy DIR",
		Short: "Deploy an app directory to a node",
		Long: `Deploy the app in DIR (its edge.toml and every file it serves) to a node.

The app is checked locally first (edge.toml parses, the files it names
exist), then only the files the node lacks are uploaded, and the manifest
is submitted signed with a deploy key. The node serves the new version
once every module has compiled. In a mesh, deploy waits until every node
serves it (--wait).

A node started without --app serves an embedded demo on every host: the
first deploy replaces it.`,
		Example: "  edge deploy ./site\n  edge deploy ./site --node 10.0.0.5:9090 --key ci.key --json",
		Args:    exactArgs("DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDeploy(cmd, args[0], &cf, keyFile, wait)
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&keyFile, "key", "", "deploy key to sign with (default: DATA/deploy.key, the dev key of a local node)")
	cmd.Flags().DurationVar(&wait, "wait", 30*time.Second, "in a mesh, wait this long for every node to serve the new version (0: do not wait)")
	return cmd
}

// runDeploy checks the token, then the app, then uploads: a wrong token
// or a broken app sends nothing.
func runDeploy(cmd *cobra.Command, dir string, cf *clientFlags, keyFile string, wait time.Duration) error {
	ctx, stdout := cmd.Context(), cmd.OutOrStdout()
	c, err := cf.client()
	if err != nil {
		return err
	}
	if err := c.CheckToken(ctx); err != nil {
		return err
	}
	app, err := checkApp(dir)
	if err != nil {
		return err
	}
	key, err := signingKey(keyFile, cf.data)
	if err != nil {
		return err
	}
	b, err := client.Pack(dir, app)
	if err != nil {
		return err
	}
	defer b.Close()
	res, up, err := c.Deploy(ctx, b, key, newProgress(cmd.ErrOrStderr()))
	if err != nil {
		return &inDir{err: err, from: app + "@new/", to: dir + string(filepath.Separator)}
	}
	out := deployOutput{DeployResult: *res, Files: len(b.Manifest.Files), Bytes: b.Manifest.TotalSize(), Uploaded: up}
	progressOut := stdout
	if cf.json {
		if err := printJSON(stdout, out); err != nil {
			return err
		}
		progressOut = cmd.ErrOrStderr()
	} else {
		printDeploy(stdout, out)
	}
	return waitConverged(ctx, c, res.App, res.Version, wait, progressOut)
}

func printDeploy(w io.Writer, out deployOutput) {
	fmt.Fprintf(w, "uploaded %s, %d bytes\n", plural(out.Uploaded.Files, "file"), out.Uploaded.Bytes)
	fmt.Fprintf(w, "deployed %s v%d (%s, %s)\n", out.App, out.Version, plural(out.Files, "file"), size(out.Bytes))
	for _, u := range out.URLs {
		fmt.Fprintf(w, "  %s\n", u)
	}
	if out.ReplacedDemo {
		fmt.Fprintf(w, "note: the node was serving the embedded demo on every host; %s replaces it\n", out.App)
	}
}

// plural is "1 file", "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// inDir names the user's files by their own path in the node's errors,
// which call the version being deployed APP@new.
type inDir struct {
	err      error
	from, to string
}

func (e *inDir) Error() string { return strings.ReplaceAll(e.err.Error(), e.from, e.to) }
func (e *inDir) Unwrap() error { return e.err }
