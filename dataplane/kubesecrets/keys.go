package kubesecrets

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/dataplane/auth"
)

// KeysOptions configure NewKeys. Every field but Logger is required.
type KeysOptions struct {
	// Client reads the Secret; it needs get, list and watch on it (resourceNames may name only it).
	Client kubernetes.Interface
	// Namespace and Name locate the access-keys Secret (keys primaryKey and secondaryKey).
	Namespace, Name string
	// Keys receives both keys each time the Secret changes.
	Keys *auth.KeySet
	// Logger; nil uses slog.Default().
	Logger *slog.Logger
}

// Keys keeps a KeySet equal to the access-keys Secret: an edit of either key is applied within moments,
// with no restart, and both keys stay valid. A Secret that holds no key, or a deleted Secret, leaves the
// current keys in place (the operator recreates a deleted Secret, and the new keys replace the old ones
// as soon as it does), so a mistaken edit cannot lock every application out.
type Keys struct {
	opts   KeysOptions
	log    *slog.Logger
	watch  *namedSecret
	loaded atomic.Bool
}

// NewKeys prepares the watch; Run starts it.
func NewKeys(o KeysOptions) (*Keys, error) {
	if o.Client == nil || o.Keys == nil || o.Namespace == "" || o.Name == "" {
		return nil, errors.New("kubesecrets: Keys needs Client, Keys, Namespace and Name")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	k := &Keys{opts: o, log: o.Logger.With("namespace", o.Namespace, "secret", o.Name)}
	w, err := newNamedSecret(o.Client, o.Namespace, o.Name, k.apply)
	if err != nil {
		return nil, err
	}
	k.watch = w
	return k, nil
}

// Run watches the Secret until ctx ends. The KeySet keeps its keys afterwards.
func (k *Keys) Run(ctx context.Context) { k.watch.run(ctx) }

// Loaded reports whether keys from the Secret have been applied at least once (for readiness). It stays
// true afterwards, also while the API server is unreachable.
func (k *Keys) Loaded() bool { return k.loaded.Load() }

func (k *Keys) apply(s *corev1.Secret) {
	if s == nil {
		k.log.Warn("access keys Secret deleted: keeping the current keys until it is recreated")
		return
	}
	primary := strings.TrimSpace(string(s.Data[v1alpha1.PrimaryKeyKey]))
	secondary := strings.TrimSpace(string(s.Data[v1alpha1.SecondaryKeyKey]))
	if primary == "" && secondary == "" {
		k.log.Error("access keys Secret holds neither key: keeping the current keys",
			"keys", []string{v1alpha1.PrimaryKeyKey, v1alpha1.SecondaryKeyKey})
		return
	}
	k.opts.Keys.Set(primary, secondary)
	// Which keys are set, never their values.
	k.log.Info("access keys applied", "resourceVersion", s.ResourceVersion,
		"primaryKey", primary != "", "secondaryKey", secondary != "")
	k.loaded.Store(true)
}
