package chart

import (
	"context"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// fieldOwner is the field manager of the test's applies, as `helm install --server-side` or a GitOps
// tool would have its own.
const fieldOwner = "chart-test"

// applyAll server-side applies objs in order (helm template orders them for installation: CRDs and
// ServiceAccounts before what uses them).
func applyAll(ctx context.Context, t *testing.T, c client.Client, objs objects) {
	t.Helper()
	for _, u := range objs {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
			t.Fatalf("apply %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
}

// TestServerSideApply: what the chart renders, with default and with custom values, is accepted by a
// real API server through server-side apply (which refuses fields its schema does not declare), is
// stored as rendered, and applying it again changes nothing.
func TestServerSideApply(t *testing.T) {
	_, c := apiServer(t)
	// Helm allows release names of up to 53 characters; every name made from one must stay valid.
	longest := release{name: "a-release-name-as-long-as-helm-allows-it-fifty-threes", namespace: "long"}
	for _, r := range []release{defaultRelease, customRelease, longest} {
		t.Run(r.name, func(t *testing.T) {
			ctx := t.Context()
			objs := render(t, r)
			ensureNamespaces(ctx, t, c, objs)
			applyAll(ctx, t, c, objs)

			versions := map[string]string{}
			for _, u := range objs {
				got := getLike(ctx, t, c, u)
				versions[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = got.GetResourceVersion()
			}
			applyAll(ctx, t, c, objs)
			for _, u := range objs {
				key := u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
				if rv := getLike(ctx, t, c, u).GetResourceVersion(); rv != versions[key] {
					t.Errorf("%s changed when applied again (resourceVersion %s -> %s): the chart fights the API server's defaults", key, versions[key], rv)
				}
			}

			// The stored Deployment is the rendered one.
			want, wantC := operatorContainer(t, objs)
			var got appsv1.Deployment
			if err := c.Get(ctx, client.ObjectKeyFromObject(want), &got); err != nil {
				t.Fatal(err)
			}
			check(t, "stored args", got.Spec.Template.Spec.Containers[0].Args, wantC.Args)
			check(t, "stored image", got.Spec.Template.Spec.Containers[0].Image, wantC.Image)
		})
	}
}

// getLike reads the stored version of u.
func getLike(ctx context.Context, t *testing.T, c client.Client, u *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(u.GroupVersionKind())
	if err := c.Get(ctx, types.NamespacedName{Namespace: u.GetNamespace(), Name: u.GetName()}, got); err != nil {
		t.Fatalf("get %s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return got
}

// waitFor polls cond until it holds or 30 s pass.
func waitFor(ctx context.Context, t *testing.T, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// podMonitorSelects checks that a rendered PodMonitor scrapes the pods of a gateway Deployment: its
// selector selects them and its port is one of theirs.
func podMonitorSelects(t *testing.T, pm *unstructured.Unstructured, d *appsv1.Deployment) {
	t.Helper()
	var sel metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(nestedMap(t, pm, "spec", "selector"), &sel); err != nil {
		t.Fatal(err)
	}
	selects(t, "PodMonitor selector", &sel, labels.Set(d.Spec.Template.Labels))
	endpoint := nestedMaps(t, pm, "spec", "podMetricsEndpoints")[0]
	if !slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].Ports, func(p corev1.ContainerPort) bool { return p.Name == endpoint["port"] }) {
		t.Errorf("PodMonitor port %v is not a port of the gateway pods %v", endpoint["port"], d.Spec.Template.Spec.Containers[0].Ports)
	}
	check(t, "PodMonitor path", endpoint["path"], any("/metrics"))
}
