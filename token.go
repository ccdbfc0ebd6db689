package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kwps/kwps/dataplane/auth"
)

// runToken prints a client access URL, as the server SDKs' getClientAccessToken makes it.
func runToken(args []string) error {
	fs := flag.NewFlagSet("kwps token", flag.ContinueOnError)
	var roles, groups stringList
	var (
		connStr = fs.String("connection-string", os.Getenv("KWPS_CONNECTION_STRING"), "connection string (env KWPS_CONNECTION_STRING)")
		hub     = fs.String("hub", "", "hub name (required)")
		user    = fs.String("user", "", "user ID (sub claim)")
		ttl     = fs.Duration("ttl", time.Hour, "token lifetime")
		only    = fs.Bool("token-only", false, "print the token instead of the URL")
	)
	fs.Var(&roles, "role", "role, e.g. webpubsub.sendToGroup (repeatable)")
	fs.Var(&groups, "group", "group to join on connect (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *connStr == "" || *hub == "" {
		return errors.New("--connection-string and --hub are required")
	}
	cs, err := auth.ParseConnectionString(*connStr)
	if err != nil {
		return err
	}
	token, err := auth.IssueClientToken(cs.AccessKey, auth.ClientTokenOptions{
		Audience: auth.ClientAudience(cs.Endpoint, *hub), UserID: *user, Roles: roles, Groups: groups, TTL: *ttl,
	})
	if err != nil {
		return err
	}
	if *only {
		fmt.Println(token)
		return nil
	}
	fmt.Println(auth.ClientURL(cs.Endpoint, *hub, token))
	return nil
}
