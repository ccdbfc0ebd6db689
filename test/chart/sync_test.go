package chart

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// syncHint says how to bring the chart's copies up to date.
const syncHint = "run `make manifests chart-sync` and commit charts/kwps/files"

// readObjects decodes the objects of a YAML file of the repository.
func readObjects(t *testing.T, rel string) objects {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), rel))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decode(string(data))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return objs
}

// TestChartCRDsAreConfigCRDs: the chart installs exactly the CRDs `make manifests` generates, adding
// only its labels and, with crds.keep, Helm's keep policy.
func TestChartCRDsAreConfigCRDs(t *testing.T) {
	generated, err := filepath.Glob(filepath.Join(repoRoot(), "config", "crd", "bases", "*.yaml"))
	if err != nil || len(generated) == 0 {
		t.Fatalf("config/crd/bases: %v %v", generated, err)
	}
	copies, err := filepath.Glob(filepath.Join(chartDir(), "files", "crds", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(copies) != len(generated) {
		t.Errorf("charts/kwps/files/crds has %d CRDs, config/crd/bases %d: %s", len(copies), len(generated), syncHint)
	}
	for _, g := range generated {
		want, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(chartDir(), "files", "crds", filepath.Base(g)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("charts/kwps/files/crds/%s differs from config/crd/bases (%v): %s", filepath.Base(g), err, syncHint)
		}
	}

	for _, keep := range []bool{true, false} {
		r := defaultRelease
		if !keep {
			r.set = []string{"crds.keep=false"}
		}
		rendered := render(t, r).ofKind("CustomResourceDefinition")
		if len(rendered) != len(generated) {
			t.Fatalf("%s: %d CRDs rendered, want %d", r, len(rendered), len(generated))
		}
		for _, crd := range rendered {
			annotations := crd.GetAnnotations()
			if got := annotations["helm.sh/resource-policy"]; (got == "keep") != keep {
				t.Errorf("%s: CRD %s has helm.sh/resource-policy %q, want keep: %v", r, crd.GetName(), got, keep)
			}
			if crd.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
				t.Errorf("%s: CRD %s has no release labels: %v", r, crd.GetName(), crd.GetLabels())
			}
			// Without what the chart adds, the rendered CRD is the generated one, field for field.
			crd = crd.DeepCopy()
			delete(annotations, "helm.sh/resource-policy")
			crd.SetAnnotations(annotations)
			crd.SetLabels(nil)
			want := crdNamed(t, crd.GetName())
			if !reflect.DeepEqual(crd.Object, want.Object) {
				t.Errorf("%s: rendered CRD %s differs from config/crd/bases: %s", r, crd.GetName(), syncHint)
			}
		}
	}

	if crds := render(t, release{name: "kwps", namespace: "kwps-system", set: []string{"crds.enabled=false"}}).ofKind("CustomResourceDefinition"); len(crds) != 0 {
		t.Errorf("crds.enabled=false renders %v", crds.names())
	}
}

// crdNamed returns the generated CRD of that name.
func crdNamed(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(repoRoot(), "config", "crd", "bases", "*.yaml"))
	for _, f := range files {
		rel, _ := filepath.Rel(repoRoot(), f)
		if u := readObjects(t, rel).get("CustomResourceDefinition", name); u != nil {
			return u
		}
	}
	t.Fatalf("config/crd/bases has no CRD %s", name)
	return nil
}

// TestChartRBACIsConfigRBAC: the chart grants the operator exactly the rules generated from the
// controllers' markers (config/rbac/role.yaml), and its other roles are those of config/rbac.
func TestChartRBACIsConfigRBAC(t *testing.T) {
	copied, err := os.ReadFile(filepath.Join(chartDir(), "files", "rbac", "manager-role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	generated, err := os.ReadFile(filepath.Join(repoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(copied, generated) {
		t.Errorf("charts/kwps/files/rbac/manager-role.yaml differs from config/rbac/role.yaml: %s", syncHint)
	}

	rendered := render(t, defaultRelease)
	for _, tt := range []struct {
		kind, chartName, configFile string
	}{
		{"ClusterRole", "kwps-operator", "config/rbac/role.yaml"},
		{"Role", "kwps-leader-election", "config/rbac/leader_election_role.yaml"},
		{"ClusterRole", "kwps-editor", "config/rbac/webpubsub_editor_role.yaml"},
		{"ClusterRole", "kwps-viewer", "config/rbac/webpubsub_viewer_role.yaml"},
	} {
		t.Run(tt.chartName, func(t *testing.T) {
			want := readObjects(t, tt.configFile)
			if len(want) != 1 {
				t.Fatalf("%s: %d objects, want 1", tt.configFile, len(want))
			}
			got := typed[rbacv1.ClusterRole](t, rendered.must(t, tt.kind, tt.chartName)).Rules
			if w := typed[rbacv1.ClusterRole](t, want[0]).Rules; !reflect.DeepEqual(got, w) {
				t.Errorf("%s %s rules differ from %s:\n got %v\nwant %v", tt.kind, tt.chartName, tt.configFile, got, w)
			}
			if tt.kind == "ClusterRole" && tt.chartName != "kwps-operator" {
				gotLabels, wantLabels := rendered.must(t, tt.kind, tt.chartName).GetLabels(), want[0].GetLabels()
				for k, v := range wantLabels {
					if k != "app.kubernetes.io/managed-by" && gotLabels[k] != v {
						t.Errorf("label %s=%q, want %q (as in %s)", k, gotLabels[k], v, tt.configFile)
					}
				}
			}
		})
	}
}
