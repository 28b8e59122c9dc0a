package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgecdn/edge/ops/api"
	"github.com/edgecdn/edge/ops/client"
)

// membersCmd is `edge members`: every node of the mesh, its state, and
// per app the version it serves and whether that is the winning one.
func membersCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List the nodes of the mesh, with each app's version and sync",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			out, err := c.Members(cmd.Context())
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			printMembers(cmd.OutOrStdout(), out)
			return nil
		},
	}
	cf.register(cmd)
	return cmd
}

func printMembers(w io.Writer, out *api.Members) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREGION\tADDRESS\tSTATE\tARCH\tAPPS")
	for _, m := range out.Members {
		var apps []string
		for _, a := range m.Apps {
			apps = append(apps, appCell(a))
		}
		if m.Error != "" {
			apps = append(apps, "(status: "+m.Error+")")
		}
		name := m.Name
		if name == out.Self {
			name += "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, dash(m.Region), m.Addr, m.State, dash(m.Arch), dash(strings.Join(apps, " ")))
	}
	_ = tw.Flush()
}

func appCell(a api.MemberApp) string {
	v := fmt.Sprintf("v%d", a.Version)
	if a.Removed {
		v = "removed"
	} else if a.Version == 0 {
		v = "none"
	}
	sync := "in sync"
	if !a.InSync {
		sync = "lagging"
	}
	return fmt.Sprintf("%s@%s(%s)", a.App, v, sync)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// waitConverged polls the node's members until every live member serves
// version of app (in sync), or wait elapses, and says which. A node not in
// a mesh answers nothing to wait for.
func waitConverged(ctx context.Context, c *client.Client, app string, version int, wait time.Duration, stdout io.Writer) error {
	if wait <= 0 {
		return nil
	}
	start := time.Now()
	deadline := start.Add(wait)
	for {
		out, err := c.Members(ctx)
		if errors.Is(err, client.ErrNotInMesh) {
			return nil // a single node
		}
		if err != nil {
			return err
		}
		done, lag := converged(out.Members, app, version)
		if len(lag) == 0 {
			fmt.Fprintf(stdout, "converged on %d/%d nodes in %.1fs%s\n", done, done, time.Since(start).Seconds(), down(out.Members))
			return nil
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(stdout, "not converged after %s: %d/%d nodes; lagging: %s\n", wait, done, done+len(lag), strings.Join(lag, ", "))
			return fmt.Errorf("mesh not converged on %s v%d: the version is deployed, the lagging members may still be compiling it "+
				"(watch edge members, or wait longer with --wait 2m)", app, version)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// down names the members that are not alive, for the convergence line.
func down(members []api.Member) string {
	var names []string
	for _, m := range members {
		if m.State != "alive" {
			names = append(names, m.Name+" "+m.State)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " (not counted: " + strings.Join(names, ", ") + ")"
}

// converged counts the live members serving version of app in sync, and
// names the others with what they have.
func converged(members []api.Member, app string, version int) (done int, lag []string) {
	for _, m := range members {
		if m.State != "alive" {
			continue
		}
		have := "nothing"
		ok := false
		for _, a := range m.Apps {
			if a.App == app {
				have = appCell(a)
				ok = a.InSync && a.Version == version && !a.Removed
			}
		}
		if m.Error != "" {
			have = "unreachable: " + m.Error
		}
		if ok {
			done++
		} else {
			lag = append(lag, m.Name+" ("+have+")")
		}
	}
	return done, lag
}
