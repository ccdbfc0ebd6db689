package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/server"
	"github.com/kwps/kwps/dataplane/upstream"
)

func runServe(args []string) error {
	fs := flag.NewFlagSet("kwps serve", flag.ContinueOnError)
	var (
		files     stringList
		logs      logFlags
		listen    = fs.String("listen", "127.0.0.1:8080", "public address: client endpoints and the REST API")
		admin     = fs.String("admin-listen", "127.0.0.1:8081", "admin address: /healthz, /readyz, /metrics (empty: none)")
		accessKey = fs.String("access-key", os.Getenv("KWPS_ACCESS_KEY"), "access key (env KWPS_ACCESS_KEY; random if empty)")
		secondKey = fs.String("secondary-key", os.Getenv("KWPS_SECONDARY_KEY"), "secondary access key, also valid (env KWPS_SECONDARY_KEY)")
		endpoint  = fs.String("endpoint", "", "public endpoint of connection strings and token audiences (default: from --listen)")
		tlsCert   = fs.String("tls-cert", "", "TLS certificate file: serve https/wss")
		tlsKey    = fs.String("tls-key", "", "TLS private key file")
		tokenFile = fs.String("identity-token-file", "", "bearer token file sent to ManagedIdentity event handlers")
		secretDir = fs.String("secret-dir", "", "directory of code secrets for codeSecretRef, laid out DIR/<secret>/<key>")
		profiling = fs.Bool("pprof", false, "serve /debug/pprof/ on the admin listener")
		redisURL  = fs.String("redis", os.Getenv("KWPS_REDIS_URL"), "Redis URL (redis://[:password@]host:port[/db]): act as one service with the other processes on it (env KWPS_REDIS_URL)")
	)
	fs.Var(&files, "f", "Hub manifest file or directory (repeatable)")
	logs.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := logs.logger()
	if err != nil {
		return err
	}
	key := *accessKey
	if key == "" {
		if key, err = auth.GenerateKey(); err != nil {
			return err
		}
	}
	hubs, err := hubconfig.LoadManifests(files...)
	if err != nil {
		return err
	}
	store := hubconfig.NewStore()
	secrets := server.DirSecrets(*secretDir)
	opts := server.Options{
		Listen: *listen, AdminListen: *admin, PublicEndpoint: *endpoint,
		TLSCertFile: *tlsCert, TLSKeyFile: *tlsKey,
		Keys: auth.NewKeySet(key, *secondKey), Hubs: store, Logger: log, Secrets: secrets, Pprof: *profiling,
		OnListening: func(ep *url.URL) {
			fmt.Println(auth.FormatConnectionString(ep.String(), key))
		},
	}
	if *tokenFile != "" {
		opts.TokenSource = &upstream.StaticTokenFile{Path: *tokenFile}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *redisURL != "" {
		bp, err := connectRedis(ctx, *redisURL, log)
		if err != nil {
			return err
		}
		defer bp.Close()
		opts.Backplane = bp
	}
	srv, err := server.New(opts)
	if err != nil {
		return err
	}
	// Abuse protection before the first client: hubs are ready once their handlers pass (or refused
	// with the reason while they fail, and re-checked with backoff).
	origin := func() string { return srv.Endpoint().Host }
	server.ValidateHubs(ctx, store, hubs, origin, secrets, log, upstream.ValidateTimeout+time.Second)
	log.Info("serving", "endpoint", srv.Endpoint().String(), "hubs", len(hubs))
	return srv.Run(ctx)
}
