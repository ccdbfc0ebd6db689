package apply

import (
	"reflect"
	"testing"
)

func TestPruneNulls(t *testing.T) {
	m := map[string]any{
		"metadata": map[string]any{"name": "x", "creationTimestamp": nil},
		"spec": map[string]any{
			"selector": nil,
			"template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"name": "c", "resources": map[string]any{}, "env": nil}},
			}},
		},
		"emptyDir": map[string]any{},
	}
	pruneNulls(m)
	want := map[string]any{
		"metadata": map[string]any{"name": "x"},
		"spec": map[string]any{
			"template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"name": "c", "resources": map[string]any{}}},
			}},
		},
		// An empty object can mean something (an emptyDir volume source): it stays.
		"emptyDir": map[string]any{},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("pruneNulls = %v, want %v", m, want)
	}
}
