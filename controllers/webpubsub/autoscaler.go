package webpubsub

import (
	"context"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers/internal/apply"
)

// Defaults of spec.autoscaling, as the CRD applies them; used when a WebPubSub was not defaulted (a
// client-side object in a test).
const (
	defaultMinReplicas          = 1
	defaultTargetCPUUtilization = 70
)

// Scale-down pace of the autoscaler. Each removed pod closes its clients, which reconnect to the
// others: one pod a minute spreads those reconnections out.
const (
	scaleDownPods          = 1
	scaleDownPeriodSeconds = 60
)

// reconcileAutoscaler applies the HorizontalPodAutoscaler of spec.autoscaling, or removes it when the
// spec has none or asks for more than one pod without a backplane (Ready=False, BackplaneRequired).
func (r *Reconciler) reconcileAutoscaler(ctx context.Context, s *scope) (ctrl.Result, error) {
	if s.w.Spec.Autoscaling != nil && !autoscalingRefused(s.w) {
		return ctrl.Result{}, apply.Apply(ctx, r.Client, s.w, gatewayAutoscaler(s.w))
	}
	return ctrl.Result{}, deleteGatewayChild(ctx, r.Client, s.w, &autoscalingv2.HorizontalPodAutoscaler{})
}

// autoscalingRefused reports whether spec.autoscaling may run more than one gateway pod while there is
// no backplane to join them.
func autoscalingRefused(w *v1alpha1.WebPubSub) bool {
	a := w.Spec.Autoscaling
	return a != nil && a.MaxReplicas > 1 && w.Spec.ScaleOut.Redis == nil
}

// gatewayAutoscaler renders the autoscaler of w. It scales the WebPubSub (its scale subresource), not
// the Deployment, so that spec.replicas stays the one number the operator renders everything from
// (the Deployment, the backplane rule, the PodDisruptionBudget, Ready).
func gatewayAutoscaler(w *v1alpha1.WebPubSub) *autoscalingv2.HorizontalPodAutoscaler {
	a := w.Spec.Autoscaling
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: w.GatewayName(), Namespace: w.Namespace, Labels: gatewayLabels(w)},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				APIVersion: v1alpha1.GroupVersion.String(), Kind: "WebPubSub", Name: w.Name,
			},
			MinReplicas: ptr.To(ptr.Deref(a.MinReplicas, defaultMinReplicas)),
			MaxReplicas: a.MaxReplicas,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{
						Type:               autoscalingv2.UtilizationMetricType,
						AverageUtilization: ptr.To(ptr.Deref(a.TargetCPUUtilizationPercentage, defaultTargetCPUUtilization)),
					},
				},
			}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleDown: &autoscalingv2.HPAScalingRules{
					Policies: []autoscalingv2.HPAScalingPolicy{{
						Type: autoscalingv2.PodsScalingPolicy, Value: scaleDownPods, PeriodSeconds: scaleDownPeriodSeconds,
					}},
				},
			},
		},
	}
}
