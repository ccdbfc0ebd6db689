package kubesecrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/upstream"
)

// Defaults of ResolverOptions.
const (
	defaultIdle        = 10 * time.Minute
	defaultSyncTimeout = 5 * time.Second
	defaultMaxSecrets  = 128
)

// ResolverOptions configure NewResolver. Client and Namespace are required.
type ResolverOptions struct {
	// Client reads the Secrets; it needs get, list and watch on each (resourceNames may name only them).
	Client kubernetes.Interface
	// Namespace is the hubs' namespace: a codeSecretRef names a Secret there.
	Namespace string
	// Idle is how long a Secret nobody asked for stays watched (default 10 min).
	Idle time.Duration
	// SyncTimeout bounds how long the first Resolve of a Secret waits for its watch (default 5 s).
	SyncTimeout time.Duration
	// MaxSecrets bounds how many Secrets are watched at once (default 128).
	MaxSecrets int
	// Logger; nil uses slog.Default().
	Logger *slog.Logger
}

// Resolver resolves code secret references (upstream.SecretResolver) from Secrets. The first Resolve of a
// Secret starts a watch of it by name and waits for its first list; later ones answer from the watch's
// local copy, so an edited code is used from the next event on, and an event costs no API call. A
// Secret nobody asked for in Idle stops being watched.
type Resolver struct {
	opts ResolverOptions
	log  *slog.Logger

	mu      sync.Mutex
	base    context.Context // Run's context; nil before Run and after it returned
	watches map[string]*resolverWatch
	running sync.WaitGroup // the watches' goroutines, expired ones included
}

// resolverWatch is one watched Secret.
type resolverWatch struct {
	*namedSecret
	stop     context.CancelFunc
	lastUsed time.Time // guarded by Resolver.mu
}

var _ upstream.SecretResolver = (*Resolver)(nil)

// ErrNotRunning is returned by Resolve outside Run.
var ErrNotRunning = errors.New("kubesecrets: resolver is not running")

// NewResolver returns a Resolver; Run makes it serve.
func NewResolver(o ResolverOptions) (*Resolver, error) {
	if o.Client == nil || o.Namespace == "" {
		return nil, errors.New("kubesecrets: Resolver needs Client and Namespace")
	}
	if o.Idle <= 0 {
		o.Idle = defaultIdle
	}
	if o.SyncTimeout <= 0 {
		o.SyncTimeout = defaultSyncTimeout
	}
	if o.MaxSecrets <= 0 {
		o.MaxSecrets = defaultMaxSecrets
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Resolver{opts: o, log: o.Logger.With("namespace", o.Namespace), watches: map[string]*resolverWatch{}}, nil
}

// Run serves Resolve until ctx ends, stopping idle watches as it goes; then it stops them all and
// returns once they have.
func (r *Resolver) Run(ctx context.Context) {
	r.mu.Lock()
	r.base = ctx
	r.mu.Unlock()
	tick := time.NewTicker(max(r.opts.Idle/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			r.mu.Lock()
			r.base = nil
			for name, w := range r.watches {
				w.stop()
				delete(r.watches, name)
			}
			r.mu.Unlock()
			r.running.Wait()
			return
		case now := <-tick.C:
			r.expire(now)
		}
	}
}

// expire stops the watches not used within Idle.
func (r *Resolver) expire(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, w := range r.watches {
		if now.Sub(w.lastUsed) >= r.opts.Idle {
			w.stop()
			delete(r.watches, name)
			r.log.Debug("code secret no longer watched", "secret", name)
		}
	}
}

// Watched returns how many Secrets are watched now.
func (r *Resolver) Watched() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.watches)
}

// Resolve returns the value of ref's key. Errors name the Secret and key, never a value.
func (r *Resolver) Resolve(ctx context.Context, ref hubconfig.SecretKeyRef) (string, error) {
	w, err := r.watch(ref.Name)
	if err != nil {
		return "", err
	}
	if !w.synced() {
		if err := w.err(); err != nil {
			return "", fmt.Errorf("secret %q cannot be read: %w", ref.Name, err)
		}
		wait, cancel := context.WithTimeout(ctx, r.opts.SyncTimeout)
		defer cancel()
		select {
		case <-w.syncedCh():
		case <-w.failed:
			if !w.synced() {
				return "", fmt.Errorf("secret %q cannot be read: %w", ref.Name, w.err())
			}
		case <-wait.Done():
			if err := w.err(); err != nil {
				return "", fmt.Errorf("secret %q cannot be read: %w", ref.Name, err)
			}
			return "", fmt.Errorf("secret %q: not read within %v", ref.Name, r.opts.SyncTimeout)
		}
	}
	s, ok := w.get()
	if !ok {
		return "", fmt.Errorf("secret %q not found", ref.Name)
	}
	v, ok := s.Data[ref.Key]
	if !ok {
		return "", fmt.Errorf("secret %q has no key %q", ref.Name, ref.Key)
	}
	// A value written with `echo` into a file ends in a newline that no code contains.
	return strings.TrimRight(string(v), "\r\n"), nil
}

// watch returns the watch of name, starting it if needed.
func (r *Resolver) watch(name string) (*resolverWatch, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.base == nil {
		return nil, ErrNotRunning
	}
	now := time.Now()
	if w, ok := r.watches[name]; ok {
		w.lastUsed = now
		return w, nil
	}
	if len(r.watches) >= r.opts.MaxSecrets {
		return nil, fmt.Errorf("secret %q: already watching %d code secrets (the most allowed)", name, r.opts.MaxSecrets)
	}
	ns, err := newNamedSecret(r.opts.Client, r.opts.Namespace, name, nil)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(r.base)
	w := &resolverWatch{namedSecret: ns, stop: stop, lastUsed: now}
	r.running.Go(func() { w.run(ctx) })
	r.watches[name] = w
	r.log.Debug("code secret watched", "secret", name)
	return w, nil
}
