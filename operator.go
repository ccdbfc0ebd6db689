package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers"
)

// gatewayImageRepository is where the gateway image of a release is published; the tag is the
// operator's version.
const gatewayImageRepository = "ghcr.io/kwps/kwps"

// leaderElectionID names the Lease the operator replicas elect a leader with.
const leaderElectionID = "kwps-operator.webpubsub.kwps.io"

// operatorOptions are the flags of `kwps operator`.
type operatorOptions struct {
	kubeconfig              string
	metricsAddr             string
	metricsSecure           bool
	probeAddr               string
	leaderElect             bool
	leaderElectionNamespace string
	gatewayImage            string
	enableHTTP2             bool
	logs                    logFlags
}

// parseOperatorFlags parses the flags of `kwps operator`; getenv supplies the environment defaults.
func parseOperatorFlags(args []string, getenv func(string) string) (*operatorOptions, error) {
	o := &operatorOptions{}
	fs := flag.NewFlagSet("kwps operator", flag.ContinueOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, the in-cluster config, then ~/.kube/config)")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080",
		"address of the Prometheus /metrics endpoint, plain HTTP unless --metrics-secure (0: off)")
	fs.BoolVar(&o.metricsSecure, "metrics-secure", false, "serve /metrics over HTTPS with a self-signed certificate")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz (0: off)")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader among operator replicas, so that only one reconciles")
	fs.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (default: the pod's namespace)")
	fs.StringVar(&o.gatewayImage, "gateway-image", defaultGatewayImage(getenv),
		"gateway image of WebPubSubs that set no spec.image (env KWPS_GATEWAY_IMAGE; else this release's image)")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false, "allow HTTP/2 on the HTTPS metrics server (off by default: HTTP/2 Rapid Reset and Stream Cancellation)")
	o.logs.register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.gatewayImage == "" {
		return nil, fmt.Errorf("--gateway-image must not be empty")
	}
	return o, nil
}

// defaultGatewayImage is KWPS_GATEWAY_IMAGE, or the image of this release.
func defaultGatewayImage(getenv func(string) string) string {
	if img := getenv("KWPS_GATEWAY_IMAGE"); img != "" {
		return img
	}
	return gatewayImageRepository + ":" + version
}

// runOperator is `kwps operator`: the controller-runtime manager that reconciles WebPubSub and Hub
// objects.
func runOperator(args []string) error {
	o, err := parseOperatorFlags(args, os.Getenv)
	if err != nil {
		return err
	}
	log, err := o.logs.logger()
	if err != nil {
		return err
	}
	// controller-runtime logs through logr and client-go through klog: both go to the same handler.
	ctrl.SetLogger(logr.FromSlogHandler(log.Handler()))
	klog.SetSlogLogger(log.With("component", "client-go"))

	cfg, err := operatorKubeConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	cfg.UserAgent = "kwps-operator/" + version
	scheme := kruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	var tlsOpts []func(*tls.Config)
	if !o.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme,
		Cache:  controllers.CacheOptions(),
		Metrics: metricsserver.Options{
			BindAddress:   o.metricsAddr,
			SecureServing: o.metricsSecure,
			TLSOpts:       tlsOpts,
		},
		HealthProbeBindAddress:        o.probeAddr,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       o.leaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := controllers.Setup(ctx, mgr, controllers.Options{GatewayImage: o.gatewayImage}); err != nil {
		return err
	}
	log.Info("starting the operator", "version", version, "gatewayImage", o.gatewayImage, "leaderElection", o.leaderElect)
	return mgr.Start(ctx)
}

// operatorKubeConfig is the API server configuration: --kubeconfig, else what the gateway uses
// ($KUBECONFIG, the in-cluster config, ~/.kube/config).
func operatorKubeConfig(path string) (*rest.Config, error) {
	if path == "" {
		return kubeConfig()
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}
