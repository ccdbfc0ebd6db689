// Package apply writes the objects the operator owns with server-side apply.
//
// The controllers render each child as a typed object holding only the fields they mean to own, and
// Apply sends it as an apply patch: the API server merges it with its defaults and with fields other
// managers own, a field the operator stops rendering is removed, and an unchanged object is not written
// at all. Because a typed object is converted to JSON, a render must leave unset what it does not own;
// the zero values of fields without omitempty (rare in the core API) would be applied.
package apply

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// FieldOwner is the field manager of everything the operator applies.
const FieldOwner = "kwps-operator"

// Apply makes owner the controller of obj and server-side applies obj, taking over fields another
// manager set (the operator's rendering is authoritative for what it renders). On success obj holds the
// object the API server returned, status included.
func Apply(ctx context.Context, c client.Client, owner, obj client.Object) error {
	if err := controllerutil.SetControllerReference(owner, obj, c.Scheme()); err != nil {
		return err
	}
	gvk, err := apiutil.GVKForObject(obj, c.Scheme())
	if err != nil {
		return err
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return fmt.Errorf("apply %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	delete(m, "status")
	pruneNulls(m)
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj)
}

// pruneNulls removes null values, which in an apply patch would mean "remove this field" (for example
// an unset metadata.creationTimestamp or label selector).
func pruneNulls(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			pruneNulls(v)
		case []any:
			for _, e := range v {
				if em, ok := e.(map[string]any); ok {
					pruneNulls(em)
				}
			}
		}
	}
}
