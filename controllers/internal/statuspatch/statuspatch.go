// Package statuspatch writes an object's status once per reconcile: take a Snapshot when the object is
// fetched, change the status in memory while reconciling, and Patch it in a deferred call. Only what
// changed is sent, as a JSON merge patch without a resourceVersion precondition (the controller is the
// only writer of the status), and nothing is sent when nothing changed.
package statuspatch

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Snapshot is an object as it was fetched.
type Snapshot struct {
	before client.Object
}

// Take records obj as fetched. Call it before the reconcile changes obj.
func Take(obj client.Object) Snapshot {
	return Snapshot{before: obj.DeepCopyObject().(client.Object)}
}

// Patch writes the difference between obj's status and the snapshot's to the status subresource.
func (s Snapshot) Patch(ctx context.Context, c client.Client, obj client.Object) error {
	patch := client.MergeFrom(s.before)
	data, err := patch.Data(obj)
	if err != nil {
		return err
	}
	if string(data) == "{}" {
		return nil
	}
	return client.IgnoreNotFound(c.Status().Patch(ctx, obj, patch))
}
