// Package index defines the field indexes the controllers find objects by: the Hubs of a WebPubSub, the
// Hubs that use a Secret, and the WebPubSubs whose access keys a Secret holds. Register them once per
// manager, before the controllers start.
package index

import (
	"context"
	"fmt"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kwps/kwps/api/v1alpha1"
)

// Field index names, for client.MatchingFields.
const (
	// HubWebPubSub indexes Hubs by spec.webPubSubRef.name.
	HubWebPubSub = "spec.webPubSubRef.name"
	// HubCodeSecret indexes Hubs by the name of every Secret their event handlers' codeSecretRef names.
	HubCodeSecret = "spec.eventHandlers.codeSecretRef.name"
	// WebPubSubKeysSecret indexes WebPubSubs by the name of their access-keys Secret (the referenced one,
	// or the generated <name>-access-keys).
	WebPubSubKeysSecret = "accessKeysSecretName"
)

// Register adds the indexes to fi (a manager's GetFieldIndexer). Call it once per manager.
func Register(ctx context.Context, fi client.FieldIndexer) error {
	indexes := []struct {
		obj   client.Object
		field string
		fn    client.IndexerFunc
	}{
		{&v1alpha1.Hub{}, HubWebPubSub, hubWebPubSub},
		{&v1alpha1.Hub{}, HubCodeSecret, hubCodeSecrets},
		{&v1alpha1.WebPubSub{}, WebPubSubKeysSecret, webPubSubKeysSecret},
	}
	for _, ix := range indexes {
		if err := fi.IndexField(ctx, ix.obj, ix.field, ix.fn); err != nil {
			return fmt.Errorf("index %s: %w", ix.field, err)
		}
	}
	return nil
}

func hubWebPubSub(o client.Object) []string {
	h, ok := o.(*v1alpha1.Hub)
	if !ok || h.Spec.WebPubSubRef.Name == "" {
		return nil
	}
	return []string{h.Spec.WebPubSubRef.Name}
}

func hubCodeSecrets(o client.Object) []string {
	h, ok := o.(*v1alpha1.Hub)
	if !ok {
		return nil
	}
	return CodeSecretNames(h)
}

func webPubSubKeysSecret(o client.Object) []string {
	w, ok := o.(*v1alpha1.WebPubSub)
	if !ok {
		return nil
	}
	return []string{w.AccessKeysSecretName()}
}

// CodeSecretNames returns the distinct names of the Secrets a Hub's event handlers take their `code`
// from, sorted.
func CodeSecretNames(h *v1alpha1.Hub) []string {
	var names []string
	for i := range h.Spec.EventHandlers {
		if r := h.Spec.EventHandlers[i].CodeSecretRef; r != nil && r.Name != "" {
			names = append(names, r.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
