package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/edgecdn/edge/ops/api"
)

// keysCmd is `edge keys`: the deploy keys a node trusts and the apps each
// may sign for (--trust-key FILE:APPS).
func keysCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List the deploy keys a node trusts, and the apps each may sign for",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			out, err := c.TrustKeys(cmd.Context())
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			printTrustKeys(cmd.OutOrStdout(), out)
			return nil
		},
	}
	cf.register(cmd)
	return cmd
}

func printTrustKeys(w io.Writer, out *api.TrustKeys) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FINGERPRINT\tKEY\tAPPS")
	for _, k := range out.Keys {
		apps := "(all)"
		if len(k.Apps) > 0 {
			apps = strings.Join(k.Apps, ",")
		}
		src := k.Source
		if src == "" {
			src = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Fingerprint, filepath.Base(src), apps)
	}
	_ = tw.Flush()
}
