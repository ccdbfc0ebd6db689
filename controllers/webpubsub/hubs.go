package webpubsub

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers/index"
)

// hubNeeds is what the Hubs of an instance need from its gateway pods.
type hubNeeds struct {
	// codeSecrets are the Secrets the Hubs' event handlers take their `code` from: the gateway Role
	// grants reading exactly those. Sorted, distinct.
	codeSecrets []string
	// audiences are the ManagedIdentity resources of the Hubs' event handlers: the pods get one projected
	// ServiceAccount token per audience. Sorted, distinct.
	audiences []string
}

// observeHubs finds what the instance's Hubs need.
func (r *Reconciler) observeHubs(ctx context.Context, s *scope) (ctrl.Result, error) {
	var hubs v1alpha1.HubList
	if err := r.Client.List(ctx, &hubs, client.InNamespace(s.w.Namespace), client.MatchingFields{index.HubWebPubSub: s.w.Name}); err != nil {
		return ctrl.Result{}, err
	}
	s.hubs = needsOf(hubs.Items)
	return ctrl.Result{}, nil
}

// needsOf collects what hubs need from the gateway pods.
func needsOf(hubs []v1alpha1.Hub) hubNeeds {
	var n hubNeeds
	for i := range hubs {
		n.codeSecrets = append(n.codeSecrets, index.CodeSecretNames(&hubs[i])...)
		for _, eh := range hubs[i].Spec.EventHandlers {
			if eh.Auth.Type == v1alpha1.UpstreamAuthManagedIdentity && eh.Auth.ManagedIdentity.Resource != "" {
				n.audiences = append(n.audiences, eh.Auth.ManagedIdentity.Resource)
			}
		}
	}
	slices.Sort(n.codeSecrets)
	slices.Sort(n.audiences)
	n.codeSecrets, n.audiences = slices.Compact(n.codeSecrets), slices.Compact(n.audiences)
	return n
}

// forHub maps a Hub to the WebPubSub it references.
func forHub(_ context.Context, o client.Object) []reconcile.Request {
	h, ok := o.(*v1alpha1.Hub)
	if !ok || h.Spec.WebPubSubRef.Name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: h.Namespace, Name: h.Spec.WebPubSubRef.Name}}}
}
