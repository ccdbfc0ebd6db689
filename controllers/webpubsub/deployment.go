package webpubsub

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers/internal/apply"
	"github.com/kwps/kwps/dataplane/upstream"
)

// The gateway pod, as the operator -> gateway contract fixes it.
const (
	gatewayContainer = "gateway"
	httpPortName     = "http"
	adminPortName    = "admin"
	httpPort         = 8080
	adminPort        = 8081
	tlsVolume        = "tls"
	tlsDir           = "/etc/kwps/tls"
	identityVolume   = "identity"
	identityDir      = "/var/run/secrets/kwps/identity"
	// identityTokenSeconds is the lifetime of the projected ManagedIdentity tokens; the kubelet renews
	// them at 80% of it.
	identityTokenSeconds = 3600
	// redisURLEnv is the gateway's default for --redis.
	redisURLEnv = "KWPS_REDIS_URL"
	// gatewayUID runs the gateway as a non-root user whatever the image declares.
	gatewayUID = 65532
)

// Shutdown of a gateway pod. The preStop sleep lets endpoints and load balancers stop sending new
// clients before SIGTERM; the gateway then stops accepting, fails /readyz and closes its clients with a
// reconnect-advising close, within its drain timeout. The grace period covers both with a margin, so
// the kubelet's SIGKILL never cuts a drain short.
const (
	preStopSleepSeconds = 10
	// gatewayDrainSeconds is the drain timeout of `kwps gateway` (dataplane/server's DrainTimeout default).
	gatewayDrainSeconds = 20
	// terminationMarginSeconds covers what follows the drain (the backplane and watches closing) and
	// a slow kubelet.
	terminationMarginSeconds      = 15
	terminationGracePeriodSeconds = preStopSleepSeconds + gatewayDrainSeconds + terminationMarginSeconds
)

// gatewayParams are what the gateway Deployment is rendered from besides the WebPubSub.
type gatewayParams struct {
	// image is the default image, used when spec.image is empty.
	image string
	// replicas is the number of pods to run (spec.replicas, capped by the backplane rule).
	replicas int32
	// audiences are the ManagedIdentity resources to project a ServiceAccount token for.
	audiences []string
}

// reconcileDeployment applies the gateway Deployment.
func (r *Reconciler) reconcileDeployment(ctx context.Context, s *scope) (ctrl.Result, error) {
	_, running := gatewayReplicas(s.w)
	d, err := gatewayDeployment(s.w, gatewayParams{image: r.GatewayImage, replicas: running, audiences: s.hubs.audiences})
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := apply.Apply(ctx, r.Client, s.w, d); err != nil {
		return ctrl.Result{}, err
	}
	s.deployment = d
	return ctrl.Result{}, nil
}

// gatewayReplicas returns the replicas spec.replicas asks for (1 when unset) and the replicas the
// gateway runs: no more than 1 without a backplane, since a message would only reach the clients of the
// pod that got it.
func gatewayReplicas(w *v1alpha1.WebPubSub) (requested, running int32) {
	requested = ptr.Deref(w.Spec.Replicas, 1)
	if requested > 1 && w.Spec.ScaleOut.Redis == nil {
		return requested, 1
	}
	return requested, requested
}

// gatewayDeployment renders the gateway Deployment of w.
func gatewayDeployment(w *v1alpha1.WebPubSub, p gatewayParams) (*appsv1.Deployment, error) {
	pod, err := gatewayPodSpec(w, p)
	if err != nil {
		return nil, err
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: w.GatewayName(), Namespace: w.Namespace, Labels: gatewayLabels(w)},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(p.replicas),
			Selector: &metav1.LabelSelector{MatchLabels: gatewayLabels(w)},
			// One new pod at a time, and never fewer ready pods than asked for: clients of a stopping pod
			// reconnect to the others.
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)),
					MaxSurge:       ptr.To(intstr.FromInt32(1)),
				},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels(w), Annotations: w.Spec.PodTemplate.Annotations},
				Spec:       *pod,
			},
		},
	}, nil
}

// gatewayPodSpec renders the gateway pod: the contract's arguments, ports and probes, the TLS and
// identity token volumes, a restricted security context, and spec.podTemplate's overrides.
func gatewayPodSpec(w *v1alpha1.WebPubSub, p gatewayParams) (*corev1.PodSpec, error) {
	image := w.Spec.Image
	if image == "" {
		image = p.image
	}
	c := corev1.Container{
		Name:            gatewayContainer,
		Image:           image,
		ImagePullPolicy: corev1.PullPolicy(w.Spec.ImagePullPolicy),
		Args: []string{
			"gateway",
			"--namespace", w.Namespace,
			"--instance", w.Name,
			"--listen", fmt.Sprintf(":%d", httpPort),
			"--admin-listen", fmt.Sprintf(":%d", adminPort),
			"--endpoint", w.PublicEndpoint(),
			"--keys-secret", w.AccessKeysSecretName(),
			"--log-format", "json",
		},
		Ports: []corev1.ContainerPort{
			{Name: httpPortName, ContainerPort: httpPort, Protocol: corev1.ProtocolTCP},
			{Name: adminPortName, ContainerPort: adminPort, Protocol: corev1.ProtocolTCP},
		},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString(adminPortName)}},
			PeriodSeconds:    5,
			TimeoutSeconds:   2,
			FailureThreshold: 2,
		},
		LivenessProbe: &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString(adminPortName)}},
			PeriodSeconds:    10,
			TimeoutSeconds:   2,
			FailureThreshold: 3,
		},
		Lifecycle: &corev1.Lifecycle{
			// A sleep action, not an exec: the image has no shell.
			PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: preStopSleepSeconds}},
		},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
	spec := &corev1.PodSpec{
		ServiceAccountName:            w.GatewayName(),
		TerminationGracePeriodSeconds: ptr.To[int64](terminationGracePeriodSeconds),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			RunAsUser:      ptr.To[int64](gatewayUID),
			RunAsGroup:     ptr.To[int64](gatewayUID),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		NodeSelector:      w.Spec.PodTemplate.NodeSelector,
		PriorityClassName: w.Spec.PodTemplate.PriorityClassName,
	}
	if tls := w.Spec.TLS.SecretName; tls != "" {
		c.Args = append(c.Args, "--tls-cert", tlsDir+"/"+corev1.TLSCertKey, "--tls-key", tlsDir+"/"+corev1.TLSPrivateKeyKey)
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: tlsVolume, MountPath: tlsDir, ReadOnly: true})
		spec.Volumes = append(spec.Volumes, corev1.Volume{
			Name:         tlsVolume,
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: tls}},
		})
	}
	if len(p.audiences) > 0 {
		c.Args = append(c.Args, "--identity-token-dir", identityDir)
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: identityVolume, MountPath: identityDir, ReadOnly: true})
		spec.Volumes = append(spec.Volumes, identityTokensVolume(p.audiences))
	}
	if env, ok := redisURL(w); ok {
		c.Env = append(c.Env, env)
	}
	o := &w.Spec.PodTemplate
	if err := convert(o.Resources, &c.Resources); err != nil {
		return nil, fmt.Errorf("spec.podTemplate.resources: %w", err)
	}
	if err := convert(o.Tolerations, &spec.Tolerations); err != nil {
		return nil, fmt.Errorf("spec.podTemplate.tolerations: %w", err)
	}
	if err := convert(o.Affinity, &spec.Affinity); err != nil {
		return nil, fmt.Errorf("spec.podTemplate.affinity: %w", err)
	}
	if err := convert(o.ImagePullSecrets, &spec.ImagePullSecrets); err != nil {
		return nil, fmt.Errorf("spec.podTemplate.imagePullSecrets: %w", err)
	}
	spec.Containers = []corev1.Container{c}
	return spec, nil
}

// identityTokensVolume projects one ServiceAccount token per audience, each at the file name the
// gateway looks it up by.
func identityTokensVolume(audiences []string) corev1.Volume {
	sources := make([]corev1.VolumeProjection, 0, len(audiences))
	for _, aud := range audiences {
		sources = append(sources, corev1.VolumeProjection{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
			Audience:          aud,
			ExpirationSeconds: ptr.To[int64](identityTokenSeconds),
			Path:              upstream.TokenFileName(aud),
		}})
	}
	return corev1.Volume{Name: identityVolume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: sources}}}
}

// redisURL is the KWPS_REDIS_URL variable of spec.scaleOut.redis, if set.
func redisURL(w *v1alpha1.WebPubSub) (corev1.EnvVar, bool) {
	rs := w.Spec.ScaleOut.Redis
	switch {
	case rs == nil:
		return corev1.EnvVar{}, false
	case rs.URLSecretRef != nil:
		return corev1.EnvVar{Name: redisURLEnv, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: rs.URLSecretRef.Name},
			Key:                  rs.URLSecretRef.Key,
		}}}, true
	}
	return corev1.EnvVar{Name: redisURLEnv, Value: rs.URL}, true
}

// convert copies an API override into its core/v1 twin: the types have the same JSON (see
// api/v1alpha1/podtemplate_types.go), and the API package stays free of k8s.io/api.
func convert(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
