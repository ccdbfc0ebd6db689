package hub_test

import (
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kwps/kwps/api/v1alpha1"
)

// TestHubReady: a Hub whose handler passes the check is rendered ready, for its instance, into a
// ConfigMap the Hub owns (so that deleting the Hub deletes it).
func TestHubReady(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	up := newUpstream(t)
	g.Expect(env.Client.Create(ctx, newWebPubSub(ns, "sample"))).To(Succeed())
	h := newHub(ns, "chat", "sample", up.URL+"/eventhandler/{event}")
	h.Spec.HubName = "Chat"
	g.Expect(env.Client.Create(ctx, h)).To(Succeed())

	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "chat", h)
		g.Expect(h.Status.ObservedGeneration).To(Equal(h.Generation))
		c := ready(h.Status.Conditions)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%+v", h.Status)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonReconciled))
		g.Expect(c.ObservedGeneration).To(Equal(h.Generation))
	})
	g.Expect(h.Status.HubName).To(Equal("chat"))
	g.Expect(h.Status.ConfigMapName).To(Equal("sample-hub-chat"))

	var cm corev1.ConfigMap
	env.Get(ctx, g, ns, "sample-hub-chat", &cm)
	g.Expect(cm.Labels).To(Equal(map[string]string{v1alpha1.InstanceLabel: "sample", v1alpha1.ComponentLabel: v1alpha1.ComponentHubConfig}))
	g.Expect(cm.OwnerReferences).To(Equal([]metav1.OwnerReference{{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: "Hub", Name: "chat", UID: h.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}}))
	rendered := hubJSON(g, &cm)
	g.Expect(rendered.Ready).To(BeTrue())
	g.Expect(rendered.NotReadyMessage).To(BeEmpty())
	g.Expect(rendered.Name).To(Equal("chat"))
	g.Expect(rendered.Generation).To(Equal(h.Generation))
	g.Expect(rendered.EventHandlers).To(HaveLen(1))
	g.Expect(rendered.EventHandlers[0].URLTemplate).To(Equal(up.URL + "/eventhandler/{event}"))

	check := up.lastCheck()
	g.Expect(check.URL.Path).To(Equal("/eventhandler/validate"))
	g.Expect(check.Header.Get("WebHook-Request-Origin")).To(Equal("sample." + ns + ".svc"))
	g.Expect(check.Header.Get("ce-awpsversion")).To(Equal("1.0"))
	eventually(t, func(g Gomega) { g.Expect(events(ctx, g, ns, "chat", "HandlersValidated")).NotTo(BeEmpty()) })
}

// TestFailingHandlerRecovers: a refused check leaves the hub not ready, in its status, an Event and the
// ConfigMap, and is retried until the upstream accepts.
func TestFailingHandlerRecovers(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	up := newUpstream(t)
	up.refuse.Store(true)
	g.Expect(env.Client.Create(ctx, newWebPubSub(ns, "sample"))).To(Succeed())
	h := newHub(ns, "chat", "sample", up.URL+"/api/{event}?code=secret-in-template")
	g.Expect(env.Client.Create(ctx, h)).To(Succeed())

	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "chat", h)
		c := ready(h.Status.Conditions)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonHandlerValidationFailed))
		g.Expect(c.Message).To(ContainSubstring("/api/validate?code=REDACTED"))
		g.Expect(c.Message).To(ContainSubstring("someone-else.example.com"))
		g.Expect(c.Message).NotTo(ContainSubstring("secret-in-template"))
		g.Expect(h.Status.ObservedGeneration).To(Equal(h.Generation))

		var cm corev1.ConfigMap
		env.Get(ctx, g, ns, "sample-hub-chat", &cm)
		rendered := hubJSON(g, &cm)
		g.Expect(rendered.Ready).To(BeFalse())
		g.Expect(rendered.NotReadyMessage).To(Equal(c.Message))

		warnings := events(ctx, g, ns, "chat", v1alpha1.ReasonHandlerValidationFailed)
		g.Expect(warnings).NotTo(BeEmpty())
		g.Expect(warnings[0].Type).To(Equal(corev1.EventTypeWarning))
		g.Expect(warnings[0].Note).NotTo(ContainSubstring("secret-in-template"))
	})
	eventually(t, func(g Gomega) { g.Expect(up.checks.Load()).To(BeNumerically(">=", 3), "retried") })

	up.refuse.Store(false)
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "chat", h)
		g.Expect(ready(h.Status.Conditions).Status).To(Equal(metav1.ConditionTrue))
		var cm corev1.ConfigMap
		env.Get(ctx, g, ns, "sample-hub-chat", &cm)
		g.Expect(hubJSON(g, &cm).Ready).To(BeTrue())
		g.Expect(events(ctx, g, ns, "chat", "HandlersValidated")).NotTo(BeEmpty())
	})
}

// TestURLEditRevalidates: a passing URL is not checked again on every reconcile; a new URL is checked
// before it reaches the ConfigMap's ready config.
func TestURLEditRevalidates(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	first, second := newUpstream(t), newUpstream(t)
	refusing := httptest.NewServer(nil)
	refusing.Close() // connection refused
	g.Expect(env.Client.Create(ctx, newWebPubSub(ns, "sample"))).To(Succeed())
	h := newHub(ns, "chat", "sample", first.URL+"/{hub}/{event}")
	g.Expect(env.Client.Create(ctx, h)).To(Succeed())
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "chat", h)
		g.Expect(ready(h.Status.Conditions).Status).To(Equal(metav1.ConditionTrue))
	})
	checks := first.checks.Load()

	// Another setting changes: the ConfigMap follows, the unchanged URL is not checked again.
	env.Update(ctx, g, h, func() { h.Spec.WebSocketKeepAliveIntervalInSeconds = ptr.To[int32](45) })
	eventually(t, func(g Gomega) {
		var cm corev1.ConfigMap
		env.Get(ctx, g, ns, "sample-hub-chat", &cm)
		rendered := hubJSON(g, &cm)
		g.Expect(rendered.KeepAliveSeconds).To(Equal(45))
		g.Expect(rendered.Ready).To(BeTrue())
	})
	g.Expect(first.checks.Load()).To(Equal(checks))

	env.Update(ctx, g, h, func() { h.Spec.EventHandlers[0].URLTemplate = second.URL + "/{hub}/{event}" })
	eventually(t, func(g Gomega) {
		var cm corev1.ConfigMap
		env.Get(ctx, g, ns, "sample-hub-chat", &cm)
		rendered := hubJSON(g, &cm)
		g.Expect(rendered.EventHandlers[0].URLTemplate).To(Equal(second.URL + "/{hub}/{event}"))
		g.Expect(rendered.Ready).To(BeTrue())
	})
	g.Expect(second.checks.Load()).To(BeNumerically(">=", 1))
	g.Expect(second.lastCheck().URL.Path).To(Equal("/chat/validate"))

	env.Update(ctx, g, h, func() { h.Spec.EventHandlers[0].URLTemplate = refusing.URL + "/{event}" })
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "chat", h)
		c := ready(h.Status.Conditions)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonHandlerValidationFailed))
		g.Expect(c.Message).To(ContainSubstring(refusing.URL + "/validate"))
		var cm corev1.ConfigMap
		env.Get(ctx, g, ns, "sample-hub-chat", &cm)
		rendered := hubJSON(g, &cm)
		g.Expect(rendered.Ready).To(BeFalse())
		g.Expect(rendered.EventHandlers[0].URLTemplate).To(Equal(refusing.URL + "/{event}"))
	})
}

// TestWebPubSubNotFound: a Hub waits for its WebPubSub, and is rendered once it appears.
func TestWebPubSubNotFound(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	h := newHub(ns, "chat", "later")
	g.Expect(env.Client.Create(ctx, h)).To(Succeed())
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "chat", h)
		c := ready(h.Status.Conditions)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonWebPubSubNotFound))
		g.Expect(c.Message).To(ContainSubstring(`"later"`))
		g.Expect(h.Status.ObservedGeneration).To(Equal(h.Generation))
	})
	err := env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "later-hub-chat"}, &corev1.ConfigMap{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue())

	g.Expect(env.Client.Create(ctx, newWebPubSub(ns, "later"))).To(Succeed())
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "chat", h)
		g.Expect(ready(h.Status.Conditions).Status).To(Equal(metav1.ConditionTrue))
		var cm corev1.ConfigMap
		env.Get(ctx, g, ns, "later-hub-chat", &cm)
		g.Expect(hubJSON(g, &cm).Ready).To(BeTrue())
	})
}

// TestMovedHubLeavesItsOldInstance: when webPubSubRef changes, the old instance's ConfigMap goes.
func TestMovedHubLeavesItsOldInstance(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	g.Expect(env.Client.Create(ctx, newWebPubSub(ns, "one"))).To(Succeed())
	g.Expect(env.Client.Create(ctx, newWebPubSub(ns, "two"))).To(Succeed())
	h := newHub(ns, "chat", "one")
	g.Expect(env.Client.Create(ctx, h)).To(Succeed())
	eventually(t, func(g Gomega) { env.Get(ctx, g, ns, "one-hub-chat", &corev1.ConfigMap{}) })

	env.Update(ctx, g, h, func() { h.Spec.WebPubSubRef.Name = "two" })
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "two-hub-chat", &corev1.ConfigMap{})
		err := env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "one-hub-chat"}, &corev1.ConfigMap{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the old instance's ConfigMap: %v", err)
		env.Get(ctx, g, ns, "chat", h)
		g.Expect(h.Status.ConfigMapName).To(Equal("two-hub-chat"))
	})
}

// TestCodeSecret: a handler's code comes from a Secret, is sent with the check, and appears nowhere
// else; a missing Secret keeps the hub from being ready, and an edited one is checked again.
func TestCodeSecret(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	up := newUpstream(t)
	g.Expect(env.Client.Create(ctx, newWebPubSub(ns, "sample"))).To(Succeed())
	h := newHub(ns, "chat", "sample", up.URL+"/api/{event}")
	h.Spec.EventHandlers[0].CodeSecretRef = &v1alpha1.SecretKeySelector{Name: "fn-code", Key: "code"}
	g.Expect(env.Client.Create(ctx, h)).To(Succeed())
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "chat", h)
		c := ready(h.Status.Conditions)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonSecretNotFound))
		g.Expect(c.Message).To(ContainSubstring(`"fn-code"`))
		var cm corev1.ConfigMap
		env.Get(ctx, g, ns, "sample-hub-chat", &cm)
		g.Expect(hubJSON(g, &cm).Ready).To(BeFalse())
	})
	g.Expect(up.checks.Load()).To(BeZero())

	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fn-code"},
		Data:       map[string][]byte{"code": []byte("s3cret-code")},
	}
	g.Expect(env.Client.Create(ctx, secret)).To(Succeed())
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "chat", h)
		g.Expect(ready(h.Status.Conditions).Status).To(Equal(metav1.ConditionTrue))
	})
	g.Expect(up.lastCheck().URL.Query().Get("code")).To(Equal("s3cret-code"))
	var cm corev1.ConfigMap
	env.Get(ctx, g, ns, "sample-hub-chat", &cm)
	g.Expect(cm.Data).NotTo(ContainElement(ContainSubstring("s3cret-code")))
	g.Expect(strings.Join(slices.Collect(maps.Values(cm.Annotations)), " ")).NotTo(ContainSubstring("s3cret-code"))

	// A new code is checked again; the upstream refuses it, and its value leaks nowhere.
	up.refuse.Store(true)
	env.Update(ctx, g, secret, func() { secret.Data["code"] = []byte("n3w-code") })
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "chat", h)
		c := ready(h.Status.Conditions)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonHandlerValidationFailed))
		g.Expect(c.Message).To(ContainSubstring("code=REDACTED"))
		g.Expect(c.Message).NotTo(ContainSubstring("n3w-code"))
	})
	g.Expect(up.lastCheck().URL.Query().Get("code")).To(Equal("n3w-code"))
}

// TestHubNameConflict: of two Hubs of one instance with the same hub name, the first one is served;
// the other takes over when it goes.
func TestHubNameConflict(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	g.Expect(env.Client.Create(ctx, newWebPubSub(ns, "sample"))).To(Succeed())
	a, b := newHub(ns, "a", "sample"), newHub(ns, "b", "sample")
	a.Spec.HubName, b.Spec.HubName = "chat", "Chat"
	g.Expect(env.Client.Create(ctx, a)).To(Succeed())
	g.Expect(env.Client.Create(ctx, b)).To(Succeed())
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "a", a)
		g.Expect(ready(a.Status.Conditions).Status).To(Equal(metav1.ConditionTrue))
		env.Get(ctx, g, ns, "b", b)
		c := ready(b.Status.Conditions)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonHubNameConflict))
		g.Expect(c.Message).To(ContainSubstring(`"a"`))
		g.Expect(b.Status.ConfigMapName).To(BeEmpty())
	})
	err := env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "sample-hub-b"}, &corev1.ConfigMap{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue())

	g.Expect(env.Client.Delete(ctx, a)).To(Succeed())
	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "b", b)
		g.Expect(ready(b.Status.Conditions).Status).To(Equal(metav1.ConditionTrue))
		env.Get(ctx, g, ns, "sample-hub-b", &corev1.ConfigMap{})
	})
}
