package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/backplane"
	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/kubesecrets"
	"github.com/kwps/kwps/dataplane/server"
	"github.com/kwps/kwps/dataplane/upstream"
)

// redisConnectTimeout bounds the wait for Redis at start; past it the gateway exits and Kubernetes
// restarts it with backoff, which shows in the pod's status rather than as a silent hang.
const redisConnectTimeout = 30 * time.Second

// inClusterNamespaceFile holds the pod's namespace in every pod with a ServiceAccount token.
const inClusterNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// runGateway is `kwps gateway`: the data-plane pod the operator deploys. It serves the hubs the operator
// renders into ConfigMaps and signs with the keys of the access-keys Secret, both watched in the API
// server and applied as they change, without restart and without dropping connections.
func runGateway(args []string) error {
	fs := flag.NewFlagSet("kwps gateway", flag.ContinueOnError)
	var (
		logs       logFlags
		namespace  = fs.String("namespace", "", "namespace of the WebPubSub instance (default: the pod's namespace)")
		instance   = fs.String("instance", "", "name of the WebPubSub instance (required)")
		listen     = fs.String("listen", ":8080", "public address: client endpoints and the REST API")
		admin      = fs.String("admin-listen", ":8081", "admin address: /healthz, /readyz, /metrics (empty: none)")
		endpoint   = fs.String("endpoint", "", "public endpoint of connection strings and token audiences (default: from --listen)")
		keysSecret = fs.String("keys-secret", "", "Secret holding primaryKey and secondaryKey (default <instance>"+v1alpha1.AccessKeysSecretSuffix+")")
		redisURL   = fs.String("redis", "", "Redis URL of the scale-out backplane (default: env KWPS_REDIS_URL; none: this pod only)")
		tlsCert    = fs.String("tls-cert", "", "TLS certificate file: serve https/wss")
		tlsKey     = fs.String("tls-key", "", "TLS private key file")
		tokenDir   = fs.String("identity-token-dir", "", "directory of projected ServiceAccount tokens, one per ManagedIdentity resource")
	)
	logs.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	log, err := logs.logger()
	if err != nil {
		return err
	}
	// client-go logs through klog: send it to the same place, in the same format.
	klog.SetSlogLogger(log.With("component", "client-go"))
	if *instance == "" {
		return errors.New("--instance is required")
	}
	if *namespace == "" {
		b, err := os.ReadFile(inClusterNamespaceFile)
		if err != nil {
			return errors.New("--namespace is required outside a pod")
		}
		*namespace = strings.TrimSpace(string(b))
	}
	if *redisURL == "" {
		// Read here rather than as the flag's default, which -h would print: the URL may hold a password.
		*redisURL = os.Getenv("KWPS_REDIS_URL")
	}
	if *keysSecret == "" {
		*keysSecret = *instance + v1alpha1.AccessKeysSecretSuffix
	}
	cfg, err := kubeConfig()
	if err != nil {
		return err
	}
	cfg.UserAgent = "kwps-gateway/" + version
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	keys := auth.NewKeySet("", "")
	store := hubconfig.NewStore()
	hubs, err := hubconfig.NewKubeSource(hubconfig.KubeSourceOptions{
		Client: client, Namespace: *namespace, Instance: *instance, Store: store, Logger: log,
	})
	if err != nil {
		return err
	}
	keyWatch, err := kubesecrets.NewKeys(kubesecrets.KeysOptions{
		Client: client, Namespace: *namespace, Name: *keysSecret, Keys: keys, Logger: log,
	})
	if err != nil {
		return err
	}
	secrets, err := kubesecrets.NewResolver(kubesecrets.ResolverOptions{Client: client, Namespace: *namespace, Logger: log})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The watches outlive the signal: events sent while draining (disconnected) still need the hub
	// config and code secrets. They stop once the server has drained.
	watchCtx, stopWatches := context.WithCancel(context.Background())
	var watches sync.WaitGroup
	defer func() {
		stopWatches()
		watches.Wait()
	}()
	watches.Go(func() { hubs.Run(watchCtx) })
	watches.Go(func() { keyWatch.Run(watchCtx) })
	watches.Go(func() { secrets.Run(watchCtx) })

	var bp backplane.Backplane
	if *redisURL != "" {
		connect, cancel := context.WithTimeout(ctx, redisConnectTimeout)
		r, err := backplane.NewRedis(connect, backplane.RedisOptions{URL: *redisURL, ID: backplaneID(), Logger: log})
		cancel()
		if err != nil {
			return err
		}
		defer r.Close()
		bp = r
	}

	opts := server.Options{
		Listen: *listen, AdminListen: *admin, PublicEndpoint: *endpoint,
		TLSCertFile: *tlsCert, TLSKeyFile: *tlsKey,
		Keys: keys, Hubs: store, Secrets: secrets,
		// The watches name their namespace and instance themselves; the server's lines need them added.
		Logger: log.With("namespace", *namespace, "instance", *instance),
		Ready: func() error {
			switch {
			case !hubs.Synced():
				return errors.New("hub configuration not loaded yet")
			case !keyWatch.Loaded():
				return fmt.Errorf("access keys not loaded yet (Secret %s)", *keysSecret)
			case bp != nil:
				return bp.Ready()
			}
			return nil
		},
	}
	opts.Gateway.Backplane = bp
	if *tokenDir != "" {
		opts.TokenSource = &upstream.FileTokenSource{Dir: *tokenDir}
	}
	srv, err := server.New(opts)
	if err != nil {
		return err
	}
	opts.Logger.Info("serving", "endpoint", srv.Endpoint().String(), "keysSecret", *keysSecret, "backplane", bp != nil)
	return srv.Run(ctx)
}

// kubeConfig is the in-cluster config in a pod, else the kubeconfig of KUBECONFIG (or ~/.kube/config).
func kubeConfig() (*rest.Config, error) {
	if os.Getenv("KUBECONFIG") == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		return rest.InClusterConfig()
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no Kubernetes API configuration (set KUBECONFIG, or run in a pod): %w", err)
	}
	return cfg, nil
}

// backplaneID names this process on the backplane after its pod (HOSTNAME), so that backplane logs
// name pods; empty (a random ID) when HOSTNAME is not usable as one.
func backplaneID() string {
	h := os.Getenv("HOSTNAME")
	if h == "" || len(h) > 128 || strings.IndexFunc(h, notIDChar) >= 0 {
		return ""
	}
	return h
}

// notIDChar reports a character a backplane ID cannot hold (IDs are [A-Za-z0-9._-]).
func notIDChar(c rune) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		return false
	}
	return true
}
