package webpubsub_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/upstream"
)

// TestDefaultInstance: `spec: {}` gets generated keys, connection strings, and a gateway with its
// Service and RBAC, all owned by the WebPubSub; Ready follows the Deployment's availability.
func TestDefaultInstance(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	w := newWebPubSub(ns, "sample")
	g.Expect(env.Client.Create(ctx, w)).To(Succeed())
	endpoint := "http://sample." + ns + ".svc"

	var keys corev1.Secret
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "sample-access-keys", &keys)
	})
	primary, secondary := string(keys.Data[v1alpha1.PrimaryKeyKey]), string(keys.Data[v1alpha1.SecondaryKeyKey])
	g.Expect(primary).To(HaveLen(44))
	g.Expect(secondary).To(HaveLen(44))
	g.Expect(primary).NotTo(Equal(secondary))
	expectOwned(g, &keys, w)

	var conns corev1.Secret
	eventually(t, func(g Gomega) { env.Get(ctx, g, ns, "sample-connection-strings", &conns) })
	g.Expect(conns.Data).To(Equal(map[string][]byte{
		v1alpha1.PrimaryConnectionStringKey:   []byte(auth.FormatConnectionString(endpoint, primary)),
		v1alpha1.SecondaryConnectionStringKey: []byte(auth.FormatConnectionString(endpoint, secondary)),
	}))
	g.Expect(string(conns.Data[v1alpha1.PrimaryConnectionStringKey])).To(Equal("Endpoint=" + endpoint + ";AccessKey=" + primary + ";Version=1.0;"))
	expectOwned(g, &conns, w)

	var d appsv1.Deployment
	eventually(t, func(g Gomega) { env.Get(ctx, g, ns, "sample-gateway", &d) })
	expectOwned(g, &d, w)
	g.Expect(d.Spec.Replicas).To(Equal(ptr.To[int32](1)))
	g.Expect(d.Spec.Selector.MatchLabels).To(Equal(gatewayLabels("sample")))
	pod := d.Spec.Template.Spec
	g.Expect(d.Spec.Template.Labels).To(Equal(gatewayLabels("sample")))
	g.Expect(pod.ServiceAccountName).To(Equal("sample-gateway"))
	g.Expect(pod.Containers).To(HaveLen(1))
	g.Expect(pod.Containers[0].Image).To(Equal(testImage))
	g.Expect(pod.Containers[0].Args).To(Equal([]string{
		"gateway", "--namespace", ns, "--instance", "sample", "--listen", ":8080", "--admin-listen", ":8081",
		"--endpoint", endpoint, "--keys-secret", "sample-access-keys", "--log-format", "json",
	}))
	g.Expect(pod.Containers[0].Env).To(BeEmpty())
	g.Expect(pod.Volumes).To(BeEmpty())

	var svc corev1.Service
	eventually(t, func(g Gomega) { env.Get(ctx, g, ns, "sample", &svc) })
	expectOwned(g, &svc, w)
	g.Expect(svc.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP))
	g.Expect(svc.Spec.Selector).To(Equal(gatewayLabels("sample")))
	g.Expect(svc.Spec.Ports).To(HaveLen(1))
	g.Expect(svc.Spec.Ports[0].Port).To(Equal(int32(80)))
	g.Expect(svc.Spec.Ports[0].TargetPort).To(Equal(intstr.FromString("http")))

	var sa corev1.ServiceAccount
	var role rbacv1.Role
	var binding rbacv1.RoleBinding
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "sample-gateway", &sa)
		env.Get(ctx, g, ns, "sample-gateway", &role)
		env.Get(ctx, g, ns, "sample-gateway", &binding)
	})
	for _, o := range []client.Object{&sa, &role, &binding} {
		expectOwned(g, o, w)
		g.Expect(o.GetLabels()).To(Equal(gatewayLabels("sample")))
	}
	g.Expect(role.Rules).To(Equal([]rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"sample-access-keys"}, Verbs: []string{"get", "list", "watch"}},
	}))
	g.Expect(binding.RoleRef).To(Equal(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "sample-gateway"}))
	g.Expect(binding.Subjects).To(Equal([]rbacv1.Subject{{Kind: "ServiceAccount", Name: "sample-gateway", Namespace: ns}}))
	expectNoPDB(ctx, g, ns, "sample-gateway")

	// No kubelet runs here: the gateways are unavailable until the Deployment's status says otherwise.
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "sample", w)
		g.Expect(w.Status.ObservedGeneration).To(Equal(w.Generation))
		g.Expect(w.Status.Endpoint).To(Equal(endpoint))
		g.Expect(w.Status.ConnectionStringSecretName).To(Equal("sample-connection-strings"))
		g.Expect(w.Status.Selector).To(Equal("webpubsub.kwps.io/component=gateway,webpubsub.kwps.io/instance=sample"))
		c := ready(w.Status.Conditions)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonGatewaysUnavailable))
		g.Expect(c.Message).To(ContainSubstring("0 of 1 gateway pods ready"))
	})

	setDeploymentAvailable(ctx, g, ns, "sample-gateway", 1)
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "sample", w)
		g.Expect(ready(w.Status.Conditions).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(ready(w.Status.Conditions).Reason).To(Equal(v1alpha1.ReasonReconciled))
		g.Expect(w.Status.ReadyReplicas).To(Equal(int32(1)))
		g.Expect(w.Status.Replicas).To(Equal(int32(1)))
	})
}

// TestEditedKeyUpdatesConnectionStrings: a key edited in the generated Secret is kept, the connection
// strings follow it, and the gateway pods are not restarted (they watch the Secret).
func TestEditedKeyUpdatesConnectionStrings(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	w := newWebPubSub(ns, "rotate")
	g.Expect(env.Client.Create(ctx, w)).To(Succeed())
	var keys corev1.Secret
	var d appsv1.Deployment
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "rotate-access-keys", &keys)
		env.Get(ctx, g, ns, "rotate-gateway", &d)
	})

	const newKey = "bmV3LWtleS1mb3ItdGhlLXByaW1hcnktc2xvdC0xMjM0NTY3OA=="
	secondary := string(keys.Data[v1alpha1.SecondaryKeyKey])
	keys.Data[v1alpha1.PrimaryKeyKey] = []byte(newKey + "\n")
	g.Expect(env.Client.Update(ctx, &keys)).To(Succeed())

	endpoint := "http://rotate." + ns + ".svc"
	eventually(t, func(g Gomega) {
		var conns corev1.Secret
		env.Get(ctx, g, ns, "rotate-connection-strings", &conns)
		g.Expect(string(conns.Data[v1alpha1.PrimaryConnectionStringKey])).To(Equal(auth.FormatConnectionString(endpoint, newKey)))
		g.Expect(string(conns.Data[v1alpha1.SecondaryConnectionStringKey])).To(Equal(auth.FormatConnectionString(endpoint, secondary)))
	})
	var after appsv1.Deployment
	env.Get(ctx, g, ns, "rotate-gateway", &after)
	g.Expect(after.Generation).To(Equal(d.Generation))
	g.Expect(after.Spec.Template).To(Equal(d.Spec.Template))
	env.Get(ctx, g, ns, "rotate-access-keys", &keys)
	g.Expect(string(keys.Data[v1alpha1.PrimaryKeyKey])).To(Equal(newKey+"\n"), "the operator must not rewrite a key")
}

// TestReferencedKeysSecret: a referenced keys Secret is waited for (Ready=False SecretNotFound), read,
// and never written.
func TestReferencedKeysSecret(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	w := newWebPubSub(ns, "byo")
	w.Spec.AccessKeys.SecretRef = &v1alpha1.LocalObjectReference{Name: "my-keys"}
	g.Expect(env.Client.Create(ctx, w)).To(Succeed())

	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "byo", w)
		c := ready(w.Status.Conditions)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonSecretNotFound))
		g.Expect(c.Message).To(ContainSubstring(`"my-keys"`))
		g.Expect(w.Status.ObservedGeneration).To(Equal(w.Generation))
	})
	g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "byo-gateway"}, &appsv1.Deployment{}))).To(BeTrue())
	g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "byo-access-keys"}, &corev1.Secret{}))).To(BeTrue())

	const primary, secondary = "cHJpbWFyeS1rZXktb2YtdGhlLXVzZXItMTIzNDU2Nzg5MA==", "c2Vjb25kYXJ5LWtleS1vZi10aGUtdXNlci0xMjM0NTY3OA=="
	mine := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-keys"},
		Data:       map[string][]byte{v1alpha1.PrimaryKeyKey: []byte(primary)},
	}
	g.Expect(env.Client.Create(ctx, mine)).To(Succeed())
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "byo", w)
		g.Expect(ready(w.Status.Conditions).Reason).To(Equal(v1alpha1.ReasonSecretNotFound))
		g.Expect(ready(w.Status.Conditions).Message).To(ContainSubstring("secondaryKey"))
	})

	mine.Data[v1alpha1.SecondaryKeyKey] = []byte(secondary)
	g.Expect(env.Client.Update(ctx, mine)).To(Succeed())
	endpoint := "http://byo." + ns + ".svc"
	eventually(t, func(g Gomega) {
		var conns corev1.Secret
		env.Get(ctx, g, ns, "byo-connection-strings", &conns)
		g.Expect(string(conns.Data[v1alpha1.PrimaryConnectionStringKey])).To(Equal(auth.FormatConnectionString(endpoint, primary)))
		g.Expect(string(conns.Data[v1alpha1.SecondaryConnectionStringKey])).To(Equal(auth.FormatConnectionString(endpoint, secondary)))
		var d appsv1.Deployment
		env.Get(ctx, g, ns, "byo-gateway", &d)
		g.Expect(d.Spec.Template.Spec.Containers[0].Args).To(ContainElements("--keys-secret", "my-keys"))
		var role rbacv1.Role
		env.Get(ctx, g, ns, "byo-gateway", &role)
		g.Expect(role.Rules[1].ResourceNames).To(Equal([]string{"my-keys"}))
	})
	var after corev1.Secret
	env.Get(ctx, g, ns, "my-keys", &after)
	g.Expect(after.OwnerReferences).To(BeEmpty())
	g.Expect(after.Data).To(Equal(mine.Data))
	g.Expect(after.ResourceVersion).To(Equal(mine.ResourceVersion))
}

// TestReplicasNeedABackplane: more than one replica without Redis runs one gateway and says why; with
// Redis the gateways scale out behind a PodDisruptionBudget, which goes when they scale back to one.
func TestReplicasNeedABackplane(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	w := newWebPubSub(ns, "scaled")
	w.Spec.Replicas = ptr.To[int32](2)
	g.Expect(env.Client.Create(ctx, w)).To(Succeed())

	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "scaled", w)
		c := ready(w.Status.Conditions)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonBackplaneRequired))
		g.Expect(c.Message).To(ContainSubstring("spec.scaleOut.redis"))
		var d appsv1.Deployment
		env.Get(ctx, g, ns, "scaled-gateway", &d)
		g.Expect(d.Spec.Replicas).To(Equal(ptr.To[int32](1)))
	})
	expectNoPDB(ctx, g, ns, "scaled-gateway")

	env.Update(ctx, g, w, func() {
		w.Spec.ScaleOut.Redis = &v1alpha1.RedisSpec{URLSecretRef: &v1alpha1.SecretKeySelector{Name: "redis", Key: "url"}}
	})
	eventually(t, func(g Gomega) {
		var d appsv1.Deployment
		env.Get(ctx, g, ns, "scaled-gateway", &d)
		g.Expect(d.Spec.Replicas).To(Equal(ptr.To[int32](2)))
		g.Expect(d.Spec.Template.Spec.Containers[0].Env).To(Equal([]corev1.EnvVar{{
			Name: "KWPS_REDIS_URL",
			ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "redis"}, Key: "url",
			}},
		}}))
		var pdb policyv1.PodDisruptionBudget
		env.Get(ctx, g, ns, "scaled-gateway", &pdb)
		g.Expect(pdb.Spec.MaxUnavailable).To(Equal(ptr.To(intstr.FromInt32(1))))
		g.Expect(pdb.Spec.Selector.MatchLabels).To(Equal(gatewayLabels("scaled")))
		var role rbacv1.Role
		env.Get(ctx, g, ns, "scaled-gateway", &role)
		g.Expect(role.Rules[1].ResourceNames).To(Equal([]string{"redis", "scaled-access-keys"}))
		env.Get(ctx, g, ns, "scaled", w)
		g.Expect(ready(w.Status.Conditions).Reason).To(Equal(v1alpha1.ReasonGatewaysUnavailable))
		g.Expect(ready(w.Status.Conditions).Message).To(ContainSubstring("0 of 2"))
	})

	setDeploymentAvailable(ctx, g, ns, "scaled-gateway", 2)
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "scaled", w)
		g.Expect(ready(w.Status.Conditions).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(w.Status.ReadyReplicas).To(Equal(int32(2)))
	})

	env.Update(ctx, g, w, func() { w.Spec.Replicas = ptr.To[int32](1) })
	eventually(t, func(g Gomega) { expectNoPDB(ctx, g, ns, "scaled-gateway") })
}

// TestHubsShapeTheGateway: the gateway may read exactly the code Secrets of the instance's Hubs, and
// gets a projected ServiceAccount token per ManagedIdentity audience.
func TestHubsShapeTheGateway(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	g.Expect(env.Client.Create(ctx, newWebPubSub(ns, "shaped"))).To(Succeed())
	h := &v1alpha1.Hub{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "chat"},
		Spec: v1alpha1.HubSpec{
			WebPubSubRef: v1alpha1.WebPubSubReference{Name: "shaped"},
			EventHandlers: []v1alpha1.EventHandler{{
				URLTemplate:   "http://127.0.0.1:1/{event}",
				CodeSecretRef: &v1alpha1.SecretKeySelector{Name: "audit-code", Key: "code"},
				Auth: v1alpha1.UpstreamAuthSettings{
					Type:            v1alpha1.UpstreamAuthManagedIdentity,
					ManagedIdentity: v1alpha1.ManagedIdentitySettings{Resource: "api://chat-upstream"},
				},
			}},
		},
	}
	g.Expect(env.Client.Create(ctx, h)).To(Succeed())
	eventually(t, func(g Gomega) {
		var role rbacv1.Role
		env.Get(ctx, g, ns, "shaped-gateway", &role)
		g.Expect(role.Rules[1].ResourceNames).To(Equal([]string{"audit-code", "shaped-access-keys"}))
		var d appsv1.Deployment
		env.Get(ctx, g, ns, "shaped-gateway", &d)
		pod := d.Spec.Template.Spec
		g.Expect(pod.Containers[0].Args).To(ContainElements("--identity-token-dir", "/var/run/secrets/kwps/identity"))
		g.Expect(pod.Volumes).To(HaveLen(1))
		g.Expect(pod.Volumes[0].Projected).NotTo(BeNil())
		g.Expect(pod.Volumes[0].Projected.Sources).To(HaveLen(1))
		g.Expect(*pod.Volumes[0].Projected.Sources[0].ServiceAccountToken).To(Equal(corev1.ServiceAccountTokenProjection{
			Audience: "api://chat-upstream", ExpirationSeconds: ptr.To[int64](3600), Path: upstream.TokenFileName("api://chat-upstream"),
		}))
	})
}

// gatewayLabels are the labels the contract gives the gateway objects of an instance.
func gatewayLabels(instance string) map[string]string {
	return map[string]string{v1alpha1.InstanceLabel: instance, v1alpha1.ComponentLabel: v1alpha1.ComponentGateway}
}

// expectOwned checks that obj is controlled by owner and carries the instance label.
func expectOwned(g Gomega, obj client.Object, owner client.Object) {
	g.ExpectWithOffset(1, metav1.IsControlledBy(obj, owner)).To(BeTrue(), "%T %s is not controlled by %s", obj, obj.GetName(), owner.GetName())
	g.ExpectWithOffset(1, obj.GetLabels()).To(HaveKeyWithValue(v1alpha1.InstanceLabel, owner.GetName()))
}

func expectNoPDB(ctx context.Context, g Gomega, ns, name string) {
	err := env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &policyv1.PodDisruptionBudget{})
	g.ExpectWithOffset(1, apierrors.IsNotFound(err)).To(BeTrue(), "PodDisruptionBudget %s: %v", name, err)
}

// setDeploymentAvailable writes the status a Deployment controller would once n pods are available.
func setDeploymentAvailable(ctx context.Context, g Gomega, ns, name string, n int32) {
	var d appsv1.Deployment
	g.ExpectWithOffset(1, env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &d)).To(Succeed())
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
	}
	g.ExpectWithOffset(1, env.Client.Status().Update(ctx, &d)).To(Succeed())
}
