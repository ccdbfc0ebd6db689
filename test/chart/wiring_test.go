package chart

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestRenderedObjectsFitTogether: the objects of a render refer to each other correctly: selectors
// select the operator pods, ports and roles named exist, bindings name the pods' ServiceAccount and the
// Lease namespace the operator is told.
func TestRenderedObjectsFitTogether(t *testing.T) {
	for _, r := range []release{defaultRelease, customRelease} {
		t.Run(r.String(), func(t *testing.T) {
			objs := render(t, r)
			d, c := operatorContainer(t, objs)
			podLabels := labels.Set(d.Spec.Template.Labels)
			selects(t, "Deployment selector", d.Spec.Selector, podLabels)

			sa := d.Spec.Template.Spec.ServiceAccountName
			objs.must(t, "ServiceAccount", sa)
			crb := typed[rbacv1.ClusterRoleBinding](t, objs.must(t, "ClusterRoleBinding", d.Name))
			objs.must(t, "ClusterRole", crb.RoleRef.Name)
			check(t, "ClusterRoleBinding subjects", crb.Subjects, []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: r.namespace}})

			if leaseNS, ok := argValue(c.Args, "--leader-election-namespace"); ok {
				rb := typed[rbacv1.RoleBinding](t, objs.ofKind("RoleBinding")[0])
				check(t, "RoleBinding namespace", rb.Namespace, leaseNS)
				check(t, "Role namespace", objs.must(t, "Role", rb.RoleRef.Name).GetNamespace(), leaseNS)
				check(t, "RoleBinding subjects", rb.Subjects, []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: r.namespace}})
			}

			containerPorts := map[string]int32{}
			for _, p := range c.Ports {
				containerPorts[p.Name] = p.ContainerPort
			}
			for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
				if _, ok := containerPorts[probe.HTTPGet.Port.String()]; !ok {
					t.Errorf("probe port %s is not a container port %v", probe.HTTPGet.Port.String(), c.Ports)
				}
			}
			if addr, _ := argValue(c.Args, "--health-probe-bind-address"); addr != ":8081" || containerPorts["probes"] != 8081 {
				t.Errorf("probes served on %q, port probes is %d", addr, containerPorts["probes"])
			}

			for _, u := range objs.ofKind("Service") {
				svc := typed[corev1.Service](t, u)
				selects(t, "Service "+svc.Name, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, podLabels)
				for _, p := range svc.Spec.Ports {
					if got := containerPorts[p.TargetPort.String()]; got != p.Port {
						t.Errorf("Service %s port %s targets %s, a container port %d", svc.Name, p.Name, p.TargetPort.String(), got)
					}
					if addr, _ := argValue(c.Args, "--metrics-bind-address"); addr != ":"+strconv.Itoa(int(p.Port)) {
						t.Errorf("metrics served on %q, the Service targets %d", addr, p.Port)
					}
				}
				for _, sm := range objs.ofKind("ServiceMonitor") {
					var sel metav1.LabelSelector
					if err := runtime.DefaultUnstructuredConverter.FromUnstructured(nestedMap(t, sm, "spec", "selector"), &sel); err != nil {
						t.Fatal(err)
					}
					selects(t, "ServiceMonitor selector", &sel, labels.Set(svc.Labels))
					port := nestedMaps(t, sm, "spec", "endpoints")[0]["port"]
					if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == port }) {
						t.Errorf("ServiceMonitor port %v is not a port of Service %s", port, svc.Name)
					}
					names, _, _ := unstructured.NestedStringSlice(sm.Object, "spec", "namespaceSelector", "matchNames")
					if !slices.Contains(names, svc.Namespace) {
						t.Errorf("ServiceMonitor looks in %v, not in %s", names, svc.Namespace)
					}
				}
			}

			for _, u := range objs.ofKind("NetworkPolicy") {
				np := typed[networkingv1.NetworkPolicy](t, u)
				selects(t, "NetworkPolicy", &np.Spec.PodSelector, podLabels)
				for _, rule := range np.Spec.Ingress {
					for _, p := range rule.Ports {
						if _, ok := containerPorts[p.Port.String()]; !ok {
							t.Errorf("NetworkPolicy port %s is not a container port", p.Port.String())
						}
					}
				}
			}
		})
	}
}

// selects fails the test unless sel selects set.
func selects(t *testing.T, what string, sel *metav1.LabelSelector, set labels.Set) {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if s.Empty() || !s.Matches(set) {
		t.Errorf("%s %q does not select %v", what, s, set)
	}
}

// argValue returns the value of --name=value in args.
func argValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}
