package chart

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// appVersion is the chart's appVersion: the default image tag.
func appVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chartDir(), "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil || c.AppVersion == "" {
		t.Fatalf("Chart.yaml appVersion %q: %v", c.AppVersion, err)
	}
	return c.AppVersion
}

// operatorContainer returns the one Deployment of a render, the operator's, and its one container.
func operatorContainer(t *testing.T, objs objects) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	deployments := objs.ofKind("Deployment")
	if len(deployments) != 1 {
		t.Fatalf("%d Deployments rendered, want the operator's", len(deployments))
	}
	d := typed[appsv1.Deployment](t, deployments[0])
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("Deployment %s has %d containers, want 1", d.Name, n)
	}
	return d, d.Spec.Template.Spec.Containers[0]
}

// TestRenderDefaults: the default install is the operator with its CRDs (kept on uninstall), its RBAC
// and a metrics Service, on the chart's own image, with nothing optional.
func TestRenderDefaults(t *testing.T) {
	objs := render(t, defaultRelease)
	want := []string{
		"ClusterRole/kwps-editor", "ClusterRole/kwps-operator", "ClusterRole/kwps-viewer",
		"ClusterRoleBinding/kwps-operator",
		"CustomResourceDefinition/hubs.webpubsub.kwps.io", "CustomResourceDefinition/webpubsubs.webpubsub.kwps.io",
		"Deployment/kwps-operator",
		"Role/kwps-leader-election", "RoleBinding/kwps-leader-election",
		"Service/kwps-operator-metrics", "ServiceAccount/kwps-operator",
	}
	if got := objs.names(); !slices.Equal(got, want) {
		t.Errorf("objects\n got %v\nwant %v", got, want)
	}
	for _, u := range objs {
		if ns := u.GetNamespace(); ns != "" && ns != "kwps-system" {
			t.Errorf("%s %s in namespace %q, want the release's", u.GetKind(), u.GetName(), ns)
		}
	}

	d, c := operatorContainer(t, objs)
	check(t, "name", d.Name, "kwps-operator")
	image := "ghcr.io/kwps/kwps:" + appVersion(t)
	check(t, "replicas", *d.Spec.Replicas, int32(1))
	check(t, "image", c.Image, image)
	check(t, "pull policy", c.ImagePullPolicy, corev1.PullIfNotPresent)
	check(t, "args", c.Args, []string{
		"operator",
		"--health-probe-bind-address=:8081",
		"--metrics-bind-address=:8080",
		"--leader-elect=true",
		"--leader-election-namespace=kwps-system",
		"--gateway-image=" + image,
		"--log-format=json",
		"--log-level=info",
	})
	check(t, "service account", d.Spec.Template.Spec.ServiceAccountName, "kwps-operator")
	check(t, "resources", c.Resources, corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
	})
	// The restricted Pod Security Standard.
	pod := d.Spec.Template.Spec
	check(t, "run as non-root", *pod.SecurityContext.RunAsNonRoot, true)
	check(t, "seccomp", pod.SecurityContext.SeccompProfile.Type, corev1.SeccompProfileTypeRuntimeDefault)
	check(t, "privilege escalation", *c.SecurityContext.AllowPrivilegeEscalation, false)
	check(t, "capabilities", c.SecurityContext.Capabilities.Drop, []corev1.Capability{"ALL"})
	check(t, "read-only root", *c.SecurityContext.ReadOnlyRootFilesystem, true)
	check(t, "liveness", c.LivenessProbe.HTTPGet.Path, "/healthz")
	check(t, "readiness", c.ReadinessProbe.HTTPGet.Path, "/readyz")
}

// TestRenderCustomValues: every value of testdata/custom-values.yaml reaches the object it is for.
func TestRenderCustomValues(t *testing.T) {
	objs := render(t, customRelease)
	want := []string{
		"ClusterRole/pubsub-kwps-operator", "ClusterRoleBinding/pubsub-kwps-operator",
		"Deployment/pubsub-kwps-operator",
		"NetworkPolicy/pubsub-kwps-operator",
		"PodMonitor/pubsub-kwps-gateways",
		"Role/pubsub-kwps-leader-election", "RoleBinding/pubsub-kwps-leader-election",
		"Service/pubsub-kwps-operator-metrics", "ServiceAccount/pubsub-operator", "ServiceMonitor/pubsub-kwps-operator",
	}
	if got := objs.names(); !slices.Equal(got, want) {
		t.Errorf("objects (no CRDs, no aggregated roles)\n got %v\nwant %v", got, want)
	}

	d, c := operatorContainer(t, objs)
	check(t, "name", d.Name, "pubsub-kwps-operator")
	pod := d.Spec.Template.Spec
	check(t, "replicas", *d.Spec.Replicas, int32(2))
	check(t, "image", c.Image, "registry.example.com/mirror/kwps@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	check(t, "pull policy", c.ImagePullPolicy, corev1.PullAlways)
	check(t, "args", c.Args, []string{
		"operator",
		"--health-probe-bind-address=:8081",
		"--metrics-bind-address=:8443",
		"--metrics-secure",
		"--leader-elect=true",
		"--leader-election-namespace=kwps-leases",
		"--gateway-image=registry.example.com/mirror/kwps-gateway:v9.9.9",
		"--log-format=text",
		"--log-level=debug",
	})
	check(t, "ports", c.Ports, []corev1.ContainerPort{
		{Name: "https-metrics", ContainerPort: 8443, Protocol: corev1.ProtocolTCP},
		{Name: "probes", ContainerPort: 8081, Protocol: corev1.ProtocolTCP},
	})
	check(t, "pull secrets", pod.ImagePullSecrets, []corev1.LocalObjectReference{{Name: "registry"}})
	check(t, "service account", pod.ServiceAccountName, "pubsub-operator")
	check(t, "node selector", pod.NodeSelector, map[string]string{"kubernetes.io/os": "linux"})
	check(t, "tolerations", pod.Tolerations, []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "control", Effect: corev1.TaintEffectNoSchedule}})
	check(t, "anti-affinity", pod.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.TopologyKey, "kubernetes.io/hostname")
	check(t, "priority class", pod.PriorityClassName, "system-cluster-critical")
	check(t, "pod labels", d.Spec.Template.Labels, map[string]string{
		"team": "realtime", "app.kubernetes.io/name": "kwps", "app.kubernetes.io/instance": "pubsub", "app.kubernetes.io/component": "operator",
	})
	check(t, "pod annotation", d.Spec.Template.Annotations["example.com/scrape"], "false")
	// Helm merges maps: the limit not overridden keeps its default.
	check(t, "resources", c.Resources, corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi")},
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
	})
	check(t, "ServiceAccount annotations", objs.must(t, "ServiceAccount", "pubsub-operator").GetAnnotations(), map[string]string{"example.com/role": "operator"})
	check(t, "Lease Role namespace", objs.must(t, "Role", "pubsub-kwps-leader-election").GetNamespace(), "kwps-leases")

	sm := objs.must(t, "ServiceMonitor", "pubsub-kwps-operator")
	check(t, "ServiceMonitor label", sm.GetLabels()["release"], "prometheus")
	endpoint := nestedMaps(t, sm, "spec", "endpoints")[0]
	check(t, "ServiceMonitor scheme", endpoint["scheme"], any("https"))
	check(t, "ServiceMonitor interval", endpoint["interval"], any("30s"))
	check(t, "ServiceMonitor timeout", endpoint["scrapeTimeout"], any("10s"))

	pm := objs.must(t, "PodMonitor", "pubsub-kwps-gateways")
	check(t, "PodMonitor label", pm.GetLabels()["release"], "prometheus")
	check(t, "PodMonitor namespaces", nestedMap(t, pm, "spec", "namespaceSelector"), map[string]any{"matchNames": []any{"apps"}})
	check(t, "PodMonitor interval", nestedMaps(t, pm, "spec", "podMetricsEndpoints")[0]["interval"], any("15s"))
}

// TestRenderLeaderElectionOff: a single operator without leader election needs no Lease RBAC.
func TestRenderLeaderElectionOff(t *testing.T) {
	objs := render(t, release{name: "kwps", namespace: "kwps-system", set: []string{"leaderElection.enabled=false", "metrics.enabled=false"}})
	_, c := operatorContainer(t, objs)
	if !slices.Contains(c.Args, "--leader-elect=false") || !slices.Contains(c.Args, "--metrics-bind-address=0") {
		t.Errorf("args %v, want --leader-elect=false and --metrics-bind-address=0", c.Args)
	}
	for _, kind := range []string{"Role", "RoleBinding", "Service"} {
		if found := objs.ofKind(kind); len(found) > 0 {
			t.Errorf("rendered %v", found.names())
		}
	}
}

// check compares semantically (quantities by value).
func check[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}
