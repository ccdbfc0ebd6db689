package webpubsub

import (
	"reflect"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/dataplane/upstream"
)

const defaultImage = "ghcr.io/kwps/kwps:v1.2.3"

func sample(mutate func(*v1alpha1.WebPubSub)) *v1alpha1.WebPubSub {
	w := &v1alpha1.WebPubSub{ObjectMeta: metav1.ObjectMeta{Name: "sample", Namespace: "apps"}}
	if mutate != nil {
		mutate(w)
	}
	return w
}

var baseArgs = []string{
	"gateway", "--namespace", "apps", "--instance", "sample", "--listen", ":8080", "--admin-listen", ":8081",
	"--endpoint", "http://sample.apps.svc", "--keys-secret", "sample-access-keys", "--log-format", "json",
}

func TestGatewayDeployment(t *testing.T) {
	tests := []struct {
		name  string
		w     *v1alpha1.WebPubSub
		p     gatewayParams
		check func(t *testing.T, d *appsv1.Deployment)
	}{{
		name: "defaults: the contract's pod, ready for long-lived connections",
		w:    sample(nil),
		p:    gatewayParams{image: defaultImage, replicas: 1},
		check: func(t *testing.T, d *appsv1.Deployment) {
			want := map[string]string{v1alpha1.InstanceLabel: "sample", v1alpha1.ComponentLabel: v1alpha1.ComponentGateway}
			equal(t, "name", d.Name, "sample-gateway")
			equal(t, "labels", d.Labels, want)
			equal(t, "selector", d.Spec.Selector.MatchLabels, want)
			equal(t, "pod labels", d.Spec.Template.Labels, want)
			equal(t, "replicas", *d.Spec.Replicas, int32(1))
			equal(t, "strategy", d.Spec.Strategy, appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1)),
				},
			})
			pod := d.Spec.Template.Spec
			equal(t, "service account", pod.ServiceAccountName, "sample-gateway")
			equal(t, "grace period", *pod.TerminationGracePeriodSeconds, int64(45))
			equal(t, "run as non-root", *pod.SecurityContext.RunAsNonRoot, true)
			c := pod.Containers[0]
			equal(t, "image", c.Image, defaultImage)
			equal(t, "args", c.Args, baseArgs)
			equal(t, "ports", c.Ports, []corev1.ContainerPort{
				{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
				{Name: "admin", ContainerPort: 8081, Protocol: corev1.ProtocolTCP},
			})
			equal(t, "readiness", c.ReadinessProbe.HTTPGet, &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("admin")})
			equal(t, "liveness", c.LivenessProbe.HTTPGet, &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("admin")})
			equal(t, "preStop", c.Lifecycle.PreStop.Sleep, &corev1.SleepAction{Seconds: 10})
			// The kubelet sends SIGTERM after the preStop sleep; `kwps gateway` then drains for up to 20 s
			// (dataplane/server's DrainTimeout). SIGKILL must not come before both are over.
			if drain := int64(20); *pod.TerminationGracePeriodSeconds <= c.Lifecycle.PreStop.Sleep.Seconds+drain {
				t.Errorf("grace period %ds does not outlast the preStop sleep (%ds) and the drain (%ds)",
					*pod.TerminationGracePeriodSeconds, c.Lifecycle.PreStop.Sleep.Seconds, drain)
			}
			equal(t, "read-only root", *c.SecurityContext.ReadOnlyRootFilesystem, true)
			equal(t, "env", len(c.Env), 0)
			equal(t, "volumes", len(pod.Volumes), 0)
		},
	}, {
		name: "spec.image, pull policy and endpoint",
		w: sample(func(w *v1alpha1.WebPubSub) {
			w.Spec.Image, w.Spec.ImagePullPolicy, w.Spec.Endpoint = "mirror.local/kwps:dev", "Always", "https://pubsub.example.com/"
		}),
		p: gatewayParams{image: defaultImage, replicas: 1},
		check: func(t *testing.T, d *appsv1.Deployment) {
			c := d.Spec.Template.Spec.Containers[0]
			equal(t, "image", c.Image, "mirror.local/kwps:dev")
			equal(t, "pull policy", c.ImagePullPolicy, corev1.PullAlways)
			equal(t, "endpoint arg", c.Args[slices.Index(c.Args, "--endpoint")+1], "https://pubsub.example.com")
		},
	}, {
		name: "TLS: the Secret mounted and the gateway told where",
		w: sample(func(w *v1alpha1.WebPubSub) {
			w.Spec.TLS.SecretName, w.Spec.Service.Port = "sample-tls", 443
		}),
		p: gatewayParams{image: defaultImage, replicas: 1},
		check: func(t *testing.T, d *appsv1.Deployment) {
			pod := d.Spec.Template.Spec
			c := pod.Containers[0]
			equal(t, "endpoint arg", c.Args[slices.Index(c.Args, "--endpoint")+1], "https://sample.apps.svc")
			equal(t, "args", c.Args[len(baseArgs):], []string{"--tls-cert", "/etc/kwps/tls/tls.crt", "--tls-key", "/etc/kwps/tls/tls.key"})
			equal(t, "mounts", c.VolumeMounts, []corev1.VolumeMount{{Name: "tls", MountPath: "/etc/kwps/tls", ReadOnly: true}})
			equal(t, "volumes", pod.Volumes, []corev1.Volume{{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sample-tls"}}}})
		},
	}, {
		name: "ManagedIdentity audiences: one projected token each",
		w:    sample(nil),
		p:    gatewayParams{image: defaultImage, replicas: 1, audiences: []string{"api://a", "https://b.example.com/.default"}},
		check: func(t *testing.T, d *appsv1.Deployment) {
			pod := d.Spec.Template.Spec
			c := pod.Containers[0]
			equal(t, "args", c.Args[len(baseArgs):], []string{"--identity-token-dir", "/var/run/secrets/kwps/identity"})
			equal(t, "mounts", c.VolumeMounts, []corev1.VolumeMount{{Name: "identity", MountPath: "/var/run/secrets/kwps/identity", ReadOnly: true}})
			var got []corev1.ServiceAccountTokenProjection
			for _, s := range pod.Volumes[0].Projected.Sources {
				got = append(got, *s.ServiceAccountToken)
			}
			equal(t, "tokens", got, []corev1.ServiceAccountTokenProjection{
				{Audience: "api://a", ExpirationSeconds: ptr.To[int64](3600), Path: upstream.TokenFileName("api://a")},
				{Audience: "https://b.example.com/.default", ExpirationSeconds: ptr.To[int64](3600), Path: upstream.TokenFileName("https://b.example.com/.default")},
			})
		},
	}, {
		name: "Redis URL",
		w:    sample(func(w *v1alpha1.WebPubSub) { w.Spec.ScaleOut.Redis = &v1alpha1.RedisSpec{URL: "redis://redis:6379/0"} }),
		p:    gatewayParams{image: defaultImage, replicas: 3},
		check: func(t *testing.T, d *appsv1.Deployment) {
			equal(t, "replicas", *d.Spec.Replicas, int32(3))
			equal(t, "env", d.Spec.Template.Spec.Containers[0].Env, []corev1.EnvVar{{Name: "KWPS_REDIS_URL", Value: "redis://redis:6379/0"}})
		},
	}, {
		name: "Redis URL from a Secret",
		w: sample(func(w *v1alpha1.WebPubSub) {
			w.Spec.ScaleOut.Redis = &v1alpha1.RedisSpec{URLSecretRef: &v1alpha1.SecretKeySelector{Name: "redis", Key: "url"}}
		}),
		p: gatewayParams{image: defaultImage, replicas: 2},
		check: func(t *testing.T, d *appsv1.Deployment) {
			equal(t, "env", d.Spec.Template.Spec.Containers[0].Env, []corev1.EnvVar{{Name: "KWPS_REDIS_URL", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "redis"}, Key: "url"},
			}}})
		},
	}, {
		name: "pod template overrides; the operator's labels win",
		w: sample(func(w *v1alpha1.WebPubSub) {
			w.Spec.PodTemplate = v1alpha1.PodTemplateOverrides{
				Labels:      map[string]string{"team": "chat", v1alpha1.InstanceLabel: "spoofed"},
				Annotations: map[string]string{"prometheus.io/scrape": "true"},
				Resources: v1alpha1.ResourceRequirements{
					Limits:   v1alpha1.ResourceList{"memory": resource.MustParse("512Mi")},
					Requests: v1alpha1.ResourceList{"cpu": resource.MustParse("250m")},
				},
				NodeSelector:      map[string]string{"pool": "realtime"},
				Tolerations:       []v1alpha1.Toleration{{Key: "dedicated", Operator: "Equal", Value: "realtime", Effect: "NoSchedule"}},
				Affinity:          &v1alpha1.Affinity{PodAntiAffinity: &v1alpha1.PodAffinity{}},
				PriorityClassName: "high",
				ImagePullSecrets:  []v1alpha1.LocalObjectReference{{Name: "regcred"}},
			}
		}),
		p: gatewayParams{image: defaultImage, replicas: 1},
		check: func(t *testing.T, d *appsv1.Deployment) {
			tmpl := d.Spec.Template
			equal(t, "pod labels", tmpl.Labels, map[string]string{
				"team": "chat", v1alpha1.InstanceLabel: "sample", v1alpha1.ComponentLabel: v1alpha1.ComponentGateway,
			})
			equal(t, "pod annotations", tmpl.Annotations, map[string]string{"prometheus.io/scrape": "true"})
			equal(t, "selector", d.Spec.Selector.MatchLabels, map[string]string{v1alpha1.InstanceLabel: "sample", v1alpha1.ComponentLabel: v1alpha1.ComponentGateway})
			equal(t, "resources", tmpl.Spec.Containers[0].Resources, corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
			})
			equal(t, "nodeSelector", tmpl.Spec.NodeSelector, map[string]string{"pool": "realtime"})
			equal(t, "tolerations", tmpl.Spec.Tolerations, []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "realtime", Effect: corev1.TaintEffectNoSchedule}})
			equal(t, "affinity", tmpl.Spec.Affinity, &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{}})
			equal(t, "priority class", tmpl.Spec.PriorityClassName, "high")
			equal(t, "pull secrets", tmpl.Spec.ImagePullSecrets, []corev1.LocalObjectReference{{Name: "regcred"}})
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := gatewayDeployment(tt.w, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, d)
		})
	}
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

func TestGatewaySecrets(t *testing.T) {
	tests := []struct {
		name string
		w    *v1alpha1.WebPubSub
		hubs hubNeeds
		want []string
	}{
		{name: "generated keys only", w: sample(nil), want: []string{"sample-access-keys"}},
		{
			name: "referenced keys",
			w: sample(func(w *v1alpha1.WebPubSub) {
				w.Spec.AccessKeys.SecretRef = &v1alpha1.LocalObjectReference{Name: "mine"}
			}),
			want: []string{"mine"},
		},
		{
			name: "Redis URL Secret and Hub code Secrets, sorted and distinct",
			w: sample(func(w *v1alpha1.WebPubSub) {
				w.Spec.ScaleOut.Redis = &v1alpha1.RedisSpec{URLSecretRef: &v1alpha1.SecretKeySelector{Name: "redis", Key: "url"}}
			}),
			hubs: hubNeeds{codeSecrets: []string{"a-code", "redis", "z-code"}},
			want: []string{"a-code", "redis", "sample-access-keys", "z-code"},
		},
		{
			name: "a Redis URL in the spec needs no Secret",
			w:    sample(func(w *v1alpha1.WebPubSub) { w.Spec.ScaleOut.Redis = &v1alpha1.RedisSpec{URL: "redis://r"} }),
			want: []string{"sample-access-keys"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gatewaySecrets(tt.w, tt.hubs)
			equal(t, "secrets", got, tt.want)
			role := gatewayRole(tt.w, got)
			equal(t, "role", role.Rules[1].ResourceNames, tt.want)
			equal(t, "role name", role.Name, "sample-gateway")
		})
	}
}

func TestNeedsOf(t *testing.T) {
	handler := func(secret, resource string) v1alpha1.EventHandler {
		eh := v1alpha1.EventHandler{URLTemplate: "http://up/{event}"}
		if secret != "" {
			eh.CodeSecretRef = &v1alpha1.SecretKeySelector{Name: secret, Key: "code"}
		}
		if resource != "" {
			eh.Auth = v1alpha1.UpstreamAuthSettings{Type: v1alpha1.UpstreamAuthManagedIdentity, ManagedIdentity: v1alpha1.ManagedIdentitySettings{Resource: resource}}
		}
		return eh
	}
	hubs := []v1alpha1.Hub{
		{Spec: v1alpha1.HubSpec{EventHandlers: []v1alpha1.EventHandler{handler("b", "api://x"), handler("", "")}}},
		{Spec: v1alpha1.HubSpec{EventHandlers: []v1alpha1.EventHandler{handler("a", "api://x"), handler("b", "api://w")}}},
		{},
	}
	got := needsOf(hubs)
	equal(t, "code secrets", got.codeSecrets, []string{"a", "b"})
	equal(t, "audiences", got.audiences, []string{"api://w", "api://x"})
	equal(t, "no hubs", needsOf(nil), hubNeeds{})
}
