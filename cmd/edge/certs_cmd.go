package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgecdn/edge/ops/api"
	edgetls "github.com/edgecdn/edge/tls"
)

// certsCmd is `edge certs`: every host name the node serves, where its
// certificate comes from and when it expires.
func certsCmd() *cobra.Command {
	var cf clientFlags
	var members bool
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "List the host names a node serves with their TLS certificates",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			call := c.Certs
			if members {
				call = c.MemberCerts
			}
			out, err := call(cmd.Context())
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			if members {
				return printMemberCerts(cmd.OutOrStdout(), out.Members)
			}
			return printCerts(cmd.OutOrStdout(), "", out.Certs)
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&members, "members", false, "list every member of the node's mesh, one block each")
	return cmd
}

// printCerts is the table of certificates, each line led by prefix.
func printCerts(w io.Writer, prefix string, certs []edgetls.CertInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, prefix+"NAME\tSOURCE\tISSUER\tEXPIRES")
	for _, cert := range certs {
		expires := "-"
		if !cert.NotAfter.IsZero() {
			expires = cert.NotAfter.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", prefix, cert.Name, cert.Source, dash(cert.Issuer), expires)
	}
	return tw.Flush()
}

// printMemberCerts is one block per member: its name, then its table.
func printMemberCerts(w io.Writer, members []api.MemberCerts) error {
	for i, m := range members {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if m.Error != "" {
			fmt.Fprintf(w, "member %s: %s\n", m.Name, m.Error)
			continue
		}
		fmt.Fprintf(w, "member %s:\n", m.Name)
		if err := printCerts(w, "  ", m.Certs); err != nil {
			return err
		}
	}
	return nil
}
