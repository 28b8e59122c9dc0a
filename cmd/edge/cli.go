package main

import (
	"context"
	"fmt"
	"io"
)

// command is one subcommand: edge NAME [flags].
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run a node (with no --app: the embedded demo site)", runServe},
		{"deploy", "deploy an app directory to a node: edge deploy DIR [--node URL]", runDeploy},
		{"apps", "list the apps a node serves, with their versions", runApps},
		{"app", "edge app history NAME | edge app rm NAME", runApp},
		{"rollback", "activate an earlier version: edge rollback NAME [--to N]", runRollback},
		{"members", "list the nodes of the mesh, with each app's version and sync", runMembers},
		{"keygen", "write a deploy key pair (edge keygen --out NAME) or a gossip key (--gossip)", runKeygen},
		{"gossip-key", "rotate a node's gossip keyring: edge gossip-key list|install|use|remove [KEY]", runGossipKey},
		{"purge", "drop cached origin responses: edge purge URL | --prefix URL | --tag KEY [--soft]", runPurge},
		{"cache", "inspect the node's cache: stats, verify, gc", runCache},
		{"version", "print the version of edge and its runtime", runVersion},
	}
}

// run dispatches to a subcommand and turns its error into an exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if err := c.run(ctx, args[1:], stdout, stderr); err != nil {
				if err == errUsage {
					return 2
				}
				fmt.Fprintf(stderr, "edge %s: %v\n", c.name, err)
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "edge: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

// errUsage means the flag package already printed what was wrong.
var errUsage = fmt.Errorf("usage")

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: edge COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'edge COMMAND -h' for a command's flags.")
}
