package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// certsCmd is `edge certs`: every host name the node serves, where its
// certificate comes from and when it expires.
func certsCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "List the host names a node serves with their TLS certificates",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			out, err := c.Certs(cmd.Context())
			if err != nil {
				return err
			}
			if cf.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSOURCE\tISSUER\tEXPIRES")
			for _, cert := range out.Certs {
				expires := "-"
				if !cert.NotAfter.IsZero() {
					expires = cert.NotAfter.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cert.Name, cert.Source, dash(cert.Issuer), expires)
			}
			return tw.Flush()
		},
	}
	cf.register(cmd)
	return cmd
}
