// Package server wires the data plane together: the public listener (client endpoints and the REST
// API), the admin listener (health, readiness, metrics), the gateway, the upstream client, and a
// graceful drain on shutdown. `kwps serve` and `kwps gateway` differ only in where hub configuration
// and keys come from.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/backplane"
	"github.com/kwps/kwps/dataplane/gateway"
	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/metrics"
	"github.com/kwps/kwps/dataplane/rest"
	"github.com/kwps/kwps/dataplane/upstream"
)

// Options configure a data-plane server.
type Options struct {
	// Listen is the public address (clients and REST); AdminListen serves /healthz, /readyz, /metrics
	// (empty: no admin listener).
	Listen, AdminListen string
	// PublicEndpoint is the Endpoint= of connection strings and of token audiences; empty derives it
	// from the public listener (127.0.0.1 for an unspecified address).
	PublicEndpoint string
	// TLSCertFile and TLSKeyFile make the public listener https (both or neither).
	TLSCertFile, TLSKeyFile string
	// Keys are the access keys (required).
	Keys *auth.KeySet
	// Hubs is the hub configuration (required).
	Hubs *hubconfig.Store
	// TokenSource and Secrets serve ManagedIdentity handlers and code secret references.
	TokenSource upstream.TokenSource
	Secrets     upstream.SecretResolver
	// Ready, if set, is an extra readiness check (config synced).
	Ready func() error
	// Backplane joins this process to others serving the same instance; nil serves alone. Readiness
	// fails while it is disconnected. The caller closes it after Run.
	Backplane backplane.Backplane
	// Pprof serves net/http/pprof under /debug/pprof/ on the admin listener.
	Pprof bool
	// DrainTimeout bounds the graceful drain on shutdown (default 20 s).
	DrainTimeout time.Duration
	// OnListening is called with the public endpoint once the listener is bound and before it accepts.
	OnListening func(endpoint *url.URL)
	// Registry collects metrics; nil creates one.
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// Gateway tunes the gateway; Hubs, Verifier, Events, Observer and Logger are filled in.
	Gateway gateway.Options
}

// Server is a running data plane.
type Server struct {
	opts     Options
	log      *slog.Logger
	endpoint atomic.Pointer[url.URL]
	gw       *gateway.Gateway
	events   *upstream.Client
	draining atomic.Bool
	public   net.Listener
	admin    net.Listener
	reg      *prometheus.Registry
	metrics  *metrics.Metrics
}

// New binds the listeners and builds the data plane; Run serves it.
func New(o Options) (*Server, error) {
	if o.Keys == nil || o.Hubs == nil {
		return nil, errors.New("server: Keys and Hubs are required")
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		return nil, errors.New("server: --tls-cert and --tls-key go together")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 20 * time.Second
	}
	s := &Server{opts: o, log: o.Logger, reg: o.Registry}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
		s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	var err error
	var lc net.ListenConfig
	if s.public, err = lc.Listen(context.Background(), "tcp", o.Listen); err != nil {
		return nil, fmt.Errorf("listen %s: %w", o.Listen, err)
	}
	if o.AdminListen != "" {
		if s.admin, err = lc.Listen(context.Background(), "tcp", o.AdminListen); err != nil {
			s.public.Close()
			return nil, fmt.Errorf("admin listen %s: %w", o.AdminListen, err)
		}
	}
	ep, err := s.publicEndpoint()
	if err != nil {
		s.closeListeners()
		return nil, err
	}
	s.endpoint.Store(ep)
	s.build()
	return s, nil
}

func (s *Server) publicEndpoint() (*url.URL, error) {
	if s.opts.PublicEndpoint != "" {
		u, err := url.Parse(s.opts.PublicEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("public endpoint %q must be an absolute http(s) URL", s.opts.PublicEndpoint)
		}
		return u, nil
	}
	addr := s.public.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if s.opts.TLSCertFile != "" {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, fmt.Sprint(addr.Port))}, nil
}

// Endpoint is the public endpoint (Endpoint= of the connection string).
func (s *Server) Endpoint() *url.URL { return s.endpoint.Load() }

// AdminAddr is the admin listener's address, nil without one.
func (s *Server) AdminAddr() net.Addr {
	if s.admin == nil {
		return nil
	}
	return s.admin.Addr()
}

// Gateway returns the gateway (for tests and embedding).
func (s *Server) Gateway() *gateway.Gateway { return s.gw }

func (s *Server) build() {
	s.metrics = metrics.New(s.reg)
	s.opts.Hubs.Subscribe(func(string) { s.metrics.ConfigReloaded() })
	s.events = upstream.New(upstream.Options{
		Keys:        s.opts.Keys,
		Origin:      func() string { return s.endpoint.Load().Host },
		TokenSource: s.opts.TokenSource,
		Secrets:     s.opts.Secrets,
		Logger:      s.log,
		Observer:    s.metrics,
	})
	endpoints := func() []*url.URL { return []*url.URL{s.endpoint.Load()} }
	verifier := &auth.Verifier{Keys: s.opts.Keys, PublicEndpoints: endpoints}
	gopts := s.opts.Gateway
	gopts.Hubs, gopts.Verifier, gopts.Keys, gopts.Events, gopts.Logger = s.opts.Hubs, verifier, s.opts.Keys, s.events, s.log
	gopts.Observer = s.metrics
	gopts.Backplane = s.opts.Backplane
	if s.opts.Backplane != nil {
		metrics.RegisterBackplane(s.reg, s.opts.Backplane)
	}
	s.gw = gateway.New(gopts)
}

func (s *Server) publicHandler() http.Handler {
	api := rest.New(rest.Options{
		Service:  s.gw,
		Verifier: &auth.Verifier{Keys: s.opts.Keys, PublicEndpoints: func() []*url.URL { return []*url.URL{s.endpoint.Load()} }},
		Keys:     s.opts.Keys,
		Endpoint: func(*http.Request) *url.URL { return s.endpoint.Load() },
		Logger:   s.log,
		Observe:  s.metrics.ObserveREST,
	})
	mux := http.NewServeMux()
	mux.Handle("/client/", s.gw)
	mux.Handle("/client", s.gw)
	mux.Handle("/api/", api)
	return mux
}

func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := s.ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	if s.opts.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

func (s *Server) ready() error {
	if s.draining.Load() {
		return errors.New("draining")
	}
	if s.opts.Backplane != nil {
		if err := s.opts.Backplane.Ready(); err != nil {
			return err
		}
	}
	if s.opts.Ready != nil {
		return s.opts.Ready()
	}
	return nil
}

// Limits of the public HTTP server: headers (tokens included) are bounded, as is the time to send them.
const (
	maxHeaderBytes    = 256 << 10
	readHeaderTimeout = 10 * time.Second
)

// Run serves until ctx ends, then drains: readiness fails, clients are closed with a reconnect-advising
// close, and in-flight requests finish within DrainTimeout.
func (s *Server) Run(ctx context.Context) error {
	pub := &http.Server{
		Handler:           s.publicHandler(),
		ReadHeaderTimeout: readHeaderTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	var adm *http.Server
	errc := make(chan error, 2)
	if s.admin != nil {
		adm = &http.Server{Handler: s.adminHandler(), ReadHeaderTimeout: readHeaderTimeout}
		go func() { errc <- serveErr(adm.Serve(s.admin)) }()
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go s.gw.Run(runCtx)
	if s.opts.OnListening != nil {
		s.opts.OnListening(s.endpoint.Load())
	}
	go func() {
		if s.opts.TLSCertFile != "" {
			pub.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			errc <- serveErr(pub.ServeTLS(s.public, s.opts.TLSCertFile, s.opts.TLSKeyFile))
			return
		}
		errc <- serveErr(pub.Serve(s.public))
	}()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.draining.Store(true)
	drainCtx, cancel := context.WithTimeout(context.Background(), s.opts.DrainTimeout)
	defer cancel()
	_ = pub.Shutdown(drainCtx)
	if err := s.gw.Drain(drainCtx); err != nil {
		s.log.Warn("drain incomplete", "error", err)
	}
	_ = s.events.Close(drainCtx)
	if adm != nil {
		_ = adm.Shutdown(drainCtx)
	}
	return runErr
}

func serveErr(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) closeListeners() {
	s.public.Close()
	if s.admin != nil {
		s.admin.Close()
	}
}
