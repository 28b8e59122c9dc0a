package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgecdn/edge/ops/api"
)

// appsCmd is `edge apps`: what the node serves.
func appsCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "apps",
		Short: "List the apps a node serves, with their versions",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			apps, err := c.Apps(cmd.Context())
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), api.AppList{Apps: apps})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "APP\tACTIVE\tVERSIONS\tSOURCE\tURLS")
			for _, a := range apps {
				active, versions := "-", "-"
				if a.Active > 0 {
					active = fmt.Sprintf("v%d", a.Active)
					versions = fmt.Sprint(len(a.Versions))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Name, active, versions, a.Source, strings.Join(a.URLs, " "))
			}
			return tw.Flush()
		},
	}
	cf.register(cmd)
	return cmd
}

// appCmd is `edge app history NAME` and `edge app rm NAME`.
func appCmd() *cobra.Command {
	return groupCmd("app", "Show a deployed app's versions, or remove it", appHistoryCmd(), appRmCmd())
}

func appHistoryCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "List a deployed app's retained versions, newest first",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			h, err := c.History(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), h)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tCREATED\tFILES\tSIZE\tSIGNER\t")
			for i := len(h.Versions) - 1; i >= 0; i-- {
				m := h.Versions[i]
				mark := ""
				if m.Version == h.Active {
					mark = "active"
				}
				signer := m.Signer
				if len(signer) > 12 {
					signer = signer[:12] + "…"
				}
				fmt.Fprintf(tw, "v%d\t%s\t%d\t%s\t%s\t%s\n", m.Version, m.Created.Format("2006-01-02 15:04:05Z"), len(m.Files), size(m.TotalSize()), signer, mark)
			}
			return tw.Flush()
		},
	}
	cf.register(cmd)
	return cmd
}

func appRmCmd() *cobra.Command {
	var cf clientFlags
	var keyFile string
	cmd := &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove a deployed app and all its versions",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			key, err := signingKey(keyFile, cf.data)
			if err != nil {
				return err
			}
			if err := c.Remove(cmd.Context(), args[0], key); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s and all its versions\n", args[0])
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&keyFile, "key", "", "deploy key to sign the removal with (default: DATA/deploy.key, the dev key of a local node)")
	return cmd
}

// rollbackCmd is `edge rollback NAME [--to N]`: activate version N, or
// the newest version older than the active one.
func rollbackCmd() *cobra.Command {
	var cf clientFlags
	var to int
	var keyFile string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "rollback NAME",
		Short: "Activate an earlier version of a deployed app",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, name := cmd.Context(), args[0]
			c, err := cf.client()
			if err != nil {
				return err
			}
			key, err := signingKey(keyFile, cf.data)
			if err != nil {
				return err
			}
			if to == 0 {
				h, err := c.History(ctx, name)
				if err != nil {
					return err
				}
				for _, m := range h.Versions {
					if m.Version < h.Active {
						to = m.Version
					}
				}
				if to == 0 {
					return fmt.Errorf("%s v%d has no older version to roll back to", name, h.Active)
				}
			}
			res, err := c.Activate(ctx, name, to, key)
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is at v%d\n", res.App, res.Version)
			for _, u := range res.URLs {
				fmt.Fprintf(cmd.OutOrStdout(), "  %s\n", u)
			}
			return waitConverged(ctx, c, res.App, res.Version, wait, cmd.OutOrStdout())
		},
	}
	cf.register(cmd)
	cmd.Flags().IntVar(&to, "to", 0, "the version to activate (default: the one before the active version)")
	cmd.Flags().StringVar(&keyFile, "key", "", "deploy key to sign the rollback with (default: DATA/deploy.key, the dev key of a local node)")
	cmd.Flags().DurationVar(&wait, "wait", 30*time.Second, "in a mesh, wait this long for every node to serve it (0: do not wait)")
	return cmd
}
