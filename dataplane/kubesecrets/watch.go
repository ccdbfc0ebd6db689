package kubesecrets

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// namedSecret watches one Secret by name.
type namedSecret struct {
	namespace, name string
	informer        cache.SharedIndexInformer
	reg             cache.ResourceEventHandlerRegistration

	errMu    sync.Mutex
	lastErr  error         // the latest list or watch failure
	failed   chan struct{} // closed at the first failure
	failOnce sync.Once
}

// newNamedSecret prepares a watch of namespace/name; onChange (optional) runs on the informer's goroutine
// with the Secret after every add or update, and with nil after a delete. run starts it.
func newNamedSecret(client kubernetes.Interface, namespace, name string, onChange func(*corev1.Secret)) (*namedSecret, error) {
	w := &namedSecret{namespace: namespace, name: name, failed: make(chan struct{})}
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	w.informer = coreinformers.NewFilteredSecretInformer(client, namespace, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.FieldSelector = selector })
	if err := w.informer.SetTransform(func(obj any) (any, error) {
		if s, ok := obj.(*corev1.Secret); ok {
			s.ManagedFields = nil // may be large, never read
		}
		return obj, nil
	}); err != nil {
		return nil, err
	}
	// Record failures for Resolve to report (a Role that does not name the Secret yet) and keep
	// client-go's default handling, which logs them without any Secret content.
	if err := w.informer.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
		w.errMu.Lock()
		w.lastErr = err
		w.errMu.Unlock()
		w.failOnce.Do(func() { close(w.failed) })
		cache.DefaultWatchErrorHandler(ctx, r, err)
	}); err != nil {
		return nil, err
	}
	changed := func(obj any) {
		if s, ok := obj.(*corev1.Secret); ok && s.Name == name && s.Namespace == namespace {
			if onChange != nil {
				onChange(s)
			}
		}
	}
	reg, err := w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
		DeleteFunc: func(obj any) {
			if onChange == nil {
				return
			}
			key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
			if err == nil && key == namespace+"/"+name {
				onChange(nil)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	w.reg = reg
	return w, nil
}

// run watches until ctx ends.
func (w *namedSecret) run(ctx context.Context) { w.informer.RunWithContext(ctx) }

// synced reports whether the first list has been delivered.
func (w *namedSecret) synced() bool { return w.reg.HasSynced() }

// syncedCh is closed once synced.
func (w *namedSecret) syncedCh() <-chan struct{} { return w.reg.HasSyncedChecker().Done() }

// get returns the watched Secret from the local copy.
func (w *namedSecret) get() (*corev1.Secret, bool) {
	obj, ok, err := w.informer.GetStore().GetByKey(w.namespace + "/" + w.name)
	if err != nil || !ok {
		return nil, false
	}
	s, ok := obj.(*corev1.Secret)
	return s, ok
}

// err returns the latest failure to list or watch (meaningful until synced: afterwards the local copy
// is served whatever happens to the connection).
func (w *namedSecret) err() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.lastErr
}
