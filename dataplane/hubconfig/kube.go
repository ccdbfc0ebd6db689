package hubconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/kwps/kwps/api/v1alpha1"
)

// KubeSourceOptions configure NewKubeSource. Every field but Logger is required.
type KubeSourceOptions struct {
	// Client reads ConfigMaps; it needs get, list and watch on configmaps in Namespace.
	Client kubernetes.Interface
	// Namespace and Instance select the ConfigMaps of one WebPubSub instance.
	Namespace, Instance string
	// Store receives the hubs.
	Store *Store
	// Logger; nil uses slog.Default().
	Logger *slog.Logger
}

// KubeSource keeps a Store equal to the valid hub configurations rendered into the ConfigMaps of one
// instance (labels InstanceLabel=<instance> and ComponentLabel=hub-config, key DataKey), as the operator
// writes them. It watches them through an informer, so a change reaches the Store within moments and
// the gateway applies it without dropping connections.
//
// Faults never widen access:
//   - a document this build cannot read (malformed, invalid, a newer schema) is logged with its
//     ConfigMap's name and skipped: the hub keeps its last good configuration, or, when it has none and
//     the document names the hub, the hub is kept not ready (clients refused with the reason) rather
//     than served with default settings and no event handlers;
//   - while the API server is unreachable the informer retries by itself and the Store keeps serving
//     what it holds: only a ConfigMap's deletion, as the API server reports it, removes a hub.
//
// Two ConfigMaps naming the same hub (two Hub objects with one hubName) are resolved by taking the one
// whose ConfigMap name sorts first, so every gateway makes the same choice.
type KubeSource struct {
	opts     KubeSourceOptions
	log      *slog.Logger
	informer cache.SharedIndexInformer
	reg      cache.ResourceEventHandlerRegistration

	mu   sync.Mutex       // serializes event handling (the informer already does; this is cheap insurance)
	byCM map[string]cmHub // by ConfigMap name
}

// cmHub is what one ConfigMap contributes: its last good hub, or a not-ready stand-in.
type cmHub struct {
	hub  *Hub
	good bool // hub came from a valid document (false: a stand-in for a rejected first document)
}

// ConfigMapSelector selects the hub ConfigMaps of an instance.
func ConfigMapSelector(instance string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{
		v1alpha1.InstanceLabel:  instance,
		v1alpha1.ComponentLabel: v1alpha1.ComponentHubConfig,
	})
}

// NewKubeSource prepares the informer; Run starts it.
func NewKubeSource(o KubeSourceOptions) (*KubeSource, error) {
	if o.Client == nil || o.Store == nil || o.Namespace == "" || o.Instance == "" {
		return nil, errors.New("hubconfig: KubeSource needs Client, Store, Namespace and Instance")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &KubeSource{
		opts: o,
		log:  o.Logger.With("namespace", o.Namespace, "instance", o.Instance),
		byCM: map[string]cmHub{},
	}
	selector := ConfigMapSelector(o.Instance).String()
	s.informer = coreinformers.NewFilteredConfigMapInformer(o.Client, o.Namespace, 0, cache.Indexers{},
		func(lo *metav1.ListOptions) { lo.LabelSelector = selector })
	if err := s.informer.SetTransform(stripManagedFields); err != nil {
		return nil, err
	}
	reg, err := s.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { s.apply(obj) },
		// An unchanged document (a relist, a label edit) changes nothing: publish compares.
		UpdateFunc: func(_, newObj any) { s.apply(newObj) },
		DeleteFunc: s.remove,
	})
	if err != nil {
		return nil, err
	}
	s.reg = reg
	return s, nil
}

// Run watches until ctx ends. The Store keeps its content afterwards.
func (s *KubeSource) Run(ctx context.Context) {
	s.informer.RunWithContext(ctx)
}

// Synced reports whether the ConfigMaps that existed at the first list have reached the Store (for
// readiness). It stays true afterwards, also while the API server is unreachable.
func (s *KubeSource) Synced() bool { return s.reg.HasSynced() }

// apply records one ConfigMap's document and updates the Store.
func (s *KubeSource) apply(obj any) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok || !s.selects(cm) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, had := s.byCM[cm.Name]
	next, err := s.parse(cm)
	if err != nil {
		log := s.log.With("configMap", cm.Name, "error", err.Error())
		switch {
		case had && prev.good:
			log.Error("hub config rejected: keeping the last good configuration", "hub", prev.hub.Name)
			return
		case next.hub == nil:
			log.Error("hub config rejected: it names no valid hub, so it is ignored")
			return
		}
		log.Error("hub config rejected: the hub refuses clients until a valid configuration arrives", "hub", next.hub.Name)
	}
	s.byCM[cm.Name] = next
	s.publish(prev.hub, next.hub)
}

// remove forgets a deleted ConfigMap: its hub falls back to another ConfigMap naming it, or to defaults.
func (s *KubeSource) remove(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	_, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, had := s.byCM[name]
	if !had {
		return
	}
	delete(s.byCM, name)
	s.publish(prev.hub, nil)
}

// selects guards against a client that ignores the selector or namespace (a fake one does on watch).
func (s *KubeSource) selects(cm *corev1.ConfigMap) bool {
	return cm.Namespace == s.opts.Namespace && ConfigMapSelector(s.opts.Instance).Matches(labels.Set(cm.Labels))
}

// parse reads a ConfigMap's document. On error the result holds a not-ready stand-in when the document
// names a valid hub, else nothing.
func (s *KubeSource) parse(cm *corev1.ConfigMap) (cmHub, error) {
	data, ok := cm.Data[DataKey]
	if !ok {
		return cmHub{}, fmt.Errorf("no %s key", DataKey)
	}
	h, err := Unmarshal([]byte(data))
	if err == nil {
		return cmHub{hub: h, good: true}, nil
	}
	var named struct {
		Name string `json:"name"`
	}
	if json.Unmarshal([]byte(data), &named) != nil || !ValidHubName(named.Name) {
		return cmHub{}, err
	}
	standIn := Default(named.Name)
	standIn.Ready = false
	// Clients see this message: the details (which may name internal URLs) go to the log only.
	standIn.NotReadyMessage = "the service cannot read this hub's configuration"
	return cmHub{hub: standIn}, err
}

// publish brings the Store in line with byCM for the hubs that prev and next name. Must hold s.mu.
func (s *KubeSource) publish(prev, next *Hub) {
	names := make([]string, 0, 2)
	if prev != nil {
		names = append(names, prev.Name)
	}
	if next != nil && (prev == nil || next.Name != prev.Name) {
		names = append(names, next.Name)
	}
	for _, name := range names {
		want := s.effective(name)
		have, ok := s.opts.Store.Lookup(name)
		switch {
		case want == nil && ok:
			s.opts.Store.Delete(name)
			s.log.Info("hub config removed", "hub", name)
		case want != nil && (!ok || !reflect.DeepEqual(have, want)):
			s.opts.Store.Set(want)
			s.log.Info("hub config applied", "hub", name, "generation", want.Generation, "ready", want.Ready)
		}
	}
}

// effective is the hub config the Store should hold for name: that of the first ConfigMap, by name,
// that names it. Must hold s.mu.
func (s *KubeSource) effective(name string) *Hub {
	var (
		best   *Hub
		bestCM string
		count  int
	)
	for cm, e := range s.byCM {
		if e.hub.Name != name {
			continue
		}
		count++
		if best == nil || cm < bestCM {
			best, bestCM = e.hub, cm
		}
	}
	if count > 1 {
		s.log.Warn("several ConfigMaps configure one hub: using the first by name", "hub", name, "configMap", bestCM, "count", count)
	}
	return best
}

// stripManagedFields drops what the gateway never reads before an object is cached.
func stripManagedFields(obj any) (any, error) {
	if m := metaOf(obj); m != nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

func metaOf(obj any) metav1.Object {
	m, _ := obj.(metav1.Object)
	return m
}
