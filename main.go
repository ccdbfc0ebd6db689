// Command kwps is a self-hosted, Kubernetes-native implementation of Azure Web PubSub.
//
//	kwps serve      one process, no cluster: hubs from Hub manifests (-f), for local development
//	kwps operator   the controller-runtime manager that reconciles WebPubSub and Hub resources
//	kwps gateway    the data-plane pod the operator deploys
//	kwps token      prints a client access URL for a connection string
package main

import (
	"fmt"
	"os"
)

type command struct {
	name, summary string
	run           func(args []string) error
}

var commands = []command{
	{"serve", "run the whole service in one process, hubs from Hub manifests", runServe},
	{"gateway", "serve one WebPubSub instance in a cluster (the pods the operator deploys)", runGateway},
	{"operator", "reconcile WebPubSub and Hub resources (the controller-runtime manager)", runOperator},
	{"token", "print a client access URL (and token) for a connection string", runToken},
	{"version", "print the version", runVersion},
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	for _, c := range commands {
		if c.name == name {
			if err := c.run(os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "kwps %s: %v\n", name, err)
				os.Exit(1)
			}
			return
		}
	}
	if name != "help" && name != "-h" && name != "--help" {
		fmt.Fprintf(os.Stderr, "kwps: unknown command %q\n", name)
	}
	usage()
	os.Exit(2)
}

func usage() {
	fmt.Fprintln(os.Stderr, "Usage: kwps <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'kwps <command> -h' for a command's flags.")
}

func runVersion([]string) error {
	fmt.Println(version)
	return nil
}
