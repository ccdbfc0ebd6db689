package webpubsub_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kwps/kwps/api/v1alpha1"
)

// withCPURequest is the gateway resources an autoscaled instance needs.
func withCPURequest(w *v1alpha1.WebPubSub) *v1alpha1.WebPubSub {
	w.Spec.PodTemplate.Resources.Requests = v1alpha1.ResourceList{"cpu": resource.MustParse("100m")}
	return w
}

var testRedis = &v1alpha1.RedisSpec{URLSecretRef: &v1alpha1.SecretKeySelector{Name: "redis", Key: "url"}}

// TestAutoscaling: spec.autoscaling becomes a HorizontalPodAutoscaler owned by the WebPubSub that scales
// the WebPubSub itself; what it writes through the scale subresource reaches the Deployment; removing
// autoscaling removes the autoscaler.
func TestAutoscaling(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	w := withCPURequest(newWebPubSub(ns, "auto"))
	w.Spec.ScaleOut.Redis = testRedis
	w.Spec.Autoscaling = &v1alpha1.AutoscalingSpec{MaxReplicas: 4}
	g.Expect(env.Client.Create(ctx, w)).To(Succeed())

	var hpa autoscalingv2.HorizontalPodAutoscaler
	eventually(t, func(g Gomega) { env.Get(ctx, g, ns, "auto-gateway", &hpa) })
	expectOwned(g, &hpa, w)
	g.Expect(hpa.Spec.ScaleTargetRef).To(Equal(autoscalingv2.CrossVersionObjectReference{
		APIVersion: "webpubsub.kwps.io/v1alpha1", Kind: "WebPubSub", Name: "auto",
	}))
	g.Expect(hpa.Spec.MinReplicas).To(Equal(ptr.To[int32](1)), "the CRD's default")
	g.Expect(hpa.Spec.MaxReplicas).To(Equal(int32(4)))
	g.Expect(*hpa.Spec.Metrics[0].Resource.Target.AverageUtilization).To(Equal(int32(70)), "the CRD's default")
	// The autoscaler may run several pods, so drains take them one at a time already at one pod.
	eventually(t, func(g Gomega) { env.Get(ctx, g, ns, "auto-gateway", &policyv1.PodDisruptionBudget{}) })

	// What the autoscaler does: read and write the WebPubSub's scale subresource.
	scale := &autoscalingv1.Scale{}
	eventually(t, func(g Gomega) {
		g.Expect(env.Client.SubResource("scale").Get(ctx, w, scale)).To(Succeed())
		g.Expect(scale.Status.Selector).To(Equal("webpubsub.kwps.io/component=gateway,webpubsub.kwps.io/instance=auto"))
	})
	scale.Spec.Replicas = 3
	g.Expect(env.Client.SubResource("scale").Update(ctx, w, client.WithSubResourceBody(scale))).To(Succeed())
	eventually(t, func(g Gomega) {
		var d appsv1.Deployment
		env.Get(ctx, g, ns, "auto-gateway", &d)
		g.Expect(d.Spec.Replicas).To(Equal(ptr.To[int32](3)))
	})

	env.Update(ctx, g, w, func() { w.Spec.Autoscaling = nil })
	eventually(t, func(g Gomega) {
		err := env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "auto-gateway"}, &autoscalingv2.HorizontalPodAutoscaler{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "autoscaler: %v", err)
	})
	// The replicas the autoscaler chose stay until someone changes them.
	var d appsv1.Deployment
	env.Get(ctx, g, ns, "auto-gateway", &d)
	g.Expect(d.Spec.Replicas).To(Equal(ptr.To[int32](3)))
}

// TestAutoscalingNeedsABackplane: an autoscaler that may run several pods without Redis is not created,
// and Ready says why; with Redis it is.
func TestAutoscalingNeedsABackplane(t *testing.T) {
	ctx, g := t.Context(), NewWithT(t)
	ns := env.NewNamespace(t)
	w := withCPURequest(newWebPubSub(ns, "lonely"))
	w.Spec.Autoscaling = &v1alpha1.AutoscalingSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 5}
	g.Expect(env.Client.Create(ctx, w)).To(Succeed())

	eventually(t, func(g Gomega) {
		env.Get(ctx, g, ns, "lonely", w)
		c := ready(w.Status.Conditions)
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonBackplaneRequired))
		g.Expect(c.Message).To(ContainSubstring("spec.autoscaling.maxReplicas is 5"))
		g.Expect(c.ObservedGeneration).To(Equal(w.Generation))
	})
	expectNoAutoscaler(ctx, g, ns, "lonely-gateway")
	expectNoPDB(ctx, g, ns, "lonely-gateway")

	env.Update(ctx, g, w, func() { w.Spec.ScaleOut.Redis = testRedis })
	eventually(t, func(g Gomega) {
		var hpa autoscalingv2.HorizontalPodAutoscaler
		env.Get(ctx, g, ns, "lonely-gateway", &hpa)
		g.Expect(hpa.Spec.MinReplicas).To(Equal(ptr.To[int32](2)))
		env.Get(ctx, g, ns, "lonely", w)
		g.Expect(ready(w.Status.Conditions).Reason).To(Equal(v1alpha1.ReasonGatewaysUnavailable))
	})
}

// TestAutoscalingValidation: the API server refuses autoscaling settings the autoscaler could not
// work with, naming the problem.
func TestAutoscalingValidation(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(w *v1alpha1.WebPubSub)
		wantErr string // "" means accepted
	}{{
		name: "valid",
		mutate: func(w *v1alpha1.WebPubSub) {
			withCPURequest(w).Spec.Autoscaling = &v1alpha1.AutoscalingSpec{MaxReplicas: 2}
		},
	}, {
		name:    "no CPU request",
		mutate:  func(w *v1alpha1.WebPubSub) { w.Spec.Autoscaling = &v1alpha1.AutoscalingSpec{MaxReplicas: 2} },
		wantErr: "autoscaling needs podTemplate.resources.requests.cpu",
	}, {
		name: "a memory request is not a CPU request",
		mutate: func(w *v1alpha1.WebPubSub) {
			w.Spec.PodTemplate.Resources.Requests = v1alpha1.ResourceList{"memory": resource.MustParse("64Mi")}
			w.Spec.Autoscaling = &v1alpha1.AutoscalingSpec{MaxReplicas: 2}
		},
		wantErr: "autoscaling needs podTemplate.resources.requests.cpu",
	}, {
		name: "min above max",
		mutate: func(w *v1alpha1.WebPubSub) {
			withCPURequest(w).Spec.Autoscaling = &v1alpha1.AutoscalingSpec{MinReplicas: ptr.To[int32](3), MaxReplicas: 2}
		},
		wantErr: "minReplicas must not be more than maxReplicas",
	}, {
		name:    "no max",
		mutate:  func(w *v1alpha1.WebPubSub) { withCPURequest(w).Spec.Autoscaling = &v1alpha1.AutoscalingSpec{} },
		wantErr: "spec.autoscaling.maxReplicas",
	}, {
		name: "zero min",
		mutate: func(w *v1alpha1.WebPubSub) {
			withCPURequest(w).Spec.Autoscaling = &v1alpha1.AutoscalingSpec{MinReplicas: ptr.To[int32](0), MaxReplicas: 2}
		},
		wantErr: "spec.autoscaling.minReplicas",
	}, {
		name: "zero CPU target",
		mutate: func(w *v1alpha1.WebPubSub) {
			withCPURequest(w).Spec.Autoscaling = &v1alpha1.AutoscalingSpec{MaxReplicas: 2, TargetCPUUtilizationPercentage: ptr.To[int32](0)}
		},
		wantErr: "spec.autoscaling.targetCPUUtilizationPercentage",
	}}
	ns := env.NewNamespace(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWebPubSub(ns, "")
			w.GenerateName = "v-"
			tt.mutate(w)
			err := env.Client.Create(t.Context(), w, client.DryRunAll)
			if tt.wantErr == "" {
				NewWithT(t).Expect(err).NotTo(HaveOccurred())
				return
			}
			NewWithT(t).Expect(apierrors.IsInvalid(err)).To(BeTrue(), "error %v, want Invalid", err)
			NewWithT(t).Expect(err.Error()).To(ContainSubstring(tt.wantErr))
		})
	}
}

func expectNoAutoscaler(ctx context.Context, g Gomega, ns, name string) {
	err := env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &autoscalingv2.HorizontalPodAutoscaler{})
	g.ExpectWithOffset(1, apierrors.IsNotFound(err)).To(BeTrue(), "HorizontalPodAutoscaler %s: %v", name, err)
}
