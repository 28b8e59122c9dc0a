package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/edgecdn/edge/ops"
)

// runCerts is `edge certs`: every host name the node serves, where its
// certificate comes from and when it expires.
func runCerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, _, asJSON, err := clientCommand("certs", "[--node URL] [--json]", args, stderr, 0, nil)
	if err != nil {
		return err
	}
	var out ops.CertsBody
	if err := c.call(ctx, http.MethodGet, "/v1/certs", nil, &out); err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSOURCE\tISSUER\tEXPIRES")
	for _, cert := range out.Certs {
		expires := "-"
		if !cert.NotAfter.IsZero() {
			expires = cert.NotAfter.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cert.Name, cert.Source, dash(cert.Issuer), expires)
	}
	return tw.Flush()
}
