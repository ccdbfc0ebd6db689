package chart

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// objects are the documents a render produced, in order.
type objects []*unstructured.Unstructured

// get returns the object of that kind and name, or nil.
func (o objects) get(kind, name string) *unstructured.Unstructured {
	for _, u := range o {
		if u.GetKind() == kind && u.GetName() == name {
			return u
		}
	}
	return nil
}

// ofKind returns the objects of a kind.
func (o objects) ofKind(kind string) objects {
	var out objects
	for _, u := range o {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// names lists the objects as Kind/name, sorted.
func (o objects) names() []string {
	out := make([]string, 0, len(o))
	for _, u := range o {
		out = append(out, u.GetKind()+"/"+u.GetName())
	}
	slices.Sort(out)
	return out
}

// must returns the object of that kind and name, failing the test without it.
func (o objects) must(t *testing.T, kind, name string) *unstructured.Unstructured {
	t.Helper()
	u := o.get(kind, name)
	if u == nil {
		t.Fatalf("no %s %s among %v", kind, name, o.names())
	}
	return u
}

// typed converts u into T, refusing a field T does not have (a misspelt key in a template).
func typed[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return out
}

// nestedMap returns the map at path in u, failing the test without one.
func nestedMap(t *testing.T, u *unstructured.Unstructured, path ...string) map[string]any {
	t.Helper()
	m, ok, err := unstructured.NestedMap(u.Object, path...)
	if !ok || err != nil {
		t.Fatalf("%s %s: no map at %v (%v)", u.GetKind(), u.GetName(), path, err)
	}
	return m
}

// nestedMaps returns the non-empty list of maps at path in u, failing the test without one.
func nestedMaps(t *testing.T, u *unstructured.Unstructured, path ...string) []map[string]any {
	t.Helper()
	list, ok, err := unstructured.NestedSlice(u.Object, path...)
	if !ok || err != nil || len(list) == 0 {
		t.Fatalf("%s %s: no list at %v (%v)", u.GetKind(), u.GetName(), path, err)
	}
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			t.Fatalf("%s %s: %v holds %T, want maps", u.GetKind(), u.GetName(), path, e)
		}
		out = append(out, m)
	}
	return out
}
