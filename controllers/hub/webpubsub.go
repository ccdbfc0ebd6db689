package hub

import (
	"cmp"
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers/index"
	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/upstream"
)

// resolveWebPubSub finds the referenced WebPubSub and the origin its checks are made from, and makes
// sure this Hub is the one that serves its hub name there. When the hub cannot be served, its
// ConfigMaps are removed so that no gateway serves a stale copy.
func (r *Reconciler) resolveWebPubSub(ctx context.Context, s *scope) (ctrl.Result, error) {
	w := &v1alpha1.WebPubSub{}
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: s.hub.Namespace, Name: s.hub.Spec.WebPubSubRef.Name}, w)
	switch {
	case apierrors.IsNotFound(err):
		s.webPubSubMissing = true
		return ctrl.Result{}, r.deleteConfigMaps(ctx, s.hub, "")
	case err != nil:
		return ctrl.Result{}, err
	}
	s.w = w
	if s.origin, s.originErr = upstream.Origin(w.PublicEndpoint()); s.originErr != nil {
		return ctrl.Result{}, nil //nolint:nilerr // the WebPubSub's error, reported in the Ready condition
	}
	hubs, err := r.hubsOf(ctx, s.hub.Namespace, w.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	if s.conflict = namesakeWinner(s.hub, hubs); s.conflict != "" {
		return ctrl.Result{}, r.deleteConfigMaps(ctx, s.hub, "")
	}
	return ctrl.Result{}, nil
}

// namesakeWinner returns the name of the Hub among hubs that serves hub's hub name instead of hub: the
// one created first (by name when created in the same second). Empty when hub is that one.
func namesakeWinner(hub *v1alpha1.Hub, hubs []v1alpha1.Hub) string {
	name := hubName(hub)
	winner := hub
	for i := range hubs {
		o := &hubs[i]
		if o.UID == hub.UID || o.DeletionTimestamp != nil || hubName(o) != name {
			continue
		}
		if c := o.CreationTimestamp.Compare(winner.CreationTimestamp.Time); c < 0 || (c == 0 && o.Name < winner.Name) {
			winner = o
		}
	}
	if winner == hub {
		return ""
	}
	return winner.Name
}

// hubName is the hub name a Hub serves: spec.hubName or metadata.name, lower-case.
func hubName(h *v1alpha1.Hub) string {
	return hubconfig.CanonicalHub(cmp.Or(h.Spec.HubName, h.Name))
}

// hubsOf lists the Hubs that reference a WebPubSub.
func (r *Reconciler) hubsOf(ctx context.Context, namespace, webPubSub string) ([]v1alpha1.Hub, error) {
	var list v1alpha1.HubList
	err := r.Client.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{index.HubWebPubSub: webPubSub})
	return list.Items, err
}

// forWebPubSub maps a WebPubSub to the Hubs that reference it.
func (r *Reconciler) forWebPubSub(ctx context.Context, o client.Object) []reconcile.Request {
	hubs, err := r.hubsOf(ctx, o.GetNamespace(), o.GetName())
	if err != nil {
		log.FromContext(ctx).Error(err, "cannot list the Hubs of a WebPubSub", "webPubSub", client.ObjectKeyFromObject(o))
		return nil
	}
	return requests(hubs, func(*v1alpha1.Hub) bool { return true })
}

// forNamesake maps a Hub to the other Hubs of its WebPubSub with the same hub name, so that the next
// in line takes the name over when the Hub that served it goes.
func (r *Reconciler) forNamesake(ctx context.Context, o client.Object) []reconcile.Request {
	h, ok := o.(*v1alpha1.Hub)
	if !ok {
		return nil
	}
	hubs, err := r.hubsOf(ctx, h.Namespace, h.Spec.WebPubSubRef.Name)
	if err != nil {
		log.FromContext(ctx).Error(err, "cannot list the Hubs of a WebPubSub", "hub", client.ObjectKeyFromObject(h))
		return nil
	}
	name := hubName(h)
	return requests(hubs, func(o *v1alpha1.Hub) bool { return o.UID != h.UID && hubName(o) == name })
}

// forCodeSecret maps a Secret to the Hubs whose event handlers take a code from it.
func (r *Reconciler) forCodeSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1alpha1.HubList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{index.HubCodeSecret: o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "cannot list the Hubs of a Secret", "secret", client.ObjectKeyFromObject(o))
		return nil
	}
	return requests(list.Items, func(*v1alpha1.Hub) bool { return true })
}

func requests(hubs []v1alpha1.Hub, keep func(*v1alpha1.Hub) bool) []reconcile.Request {
	var reqs []reconcile.Request
	for i := range hubs {
		if keep(&hubs[i]) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&hubs[i])})
		}
	}
	return reqs
}
