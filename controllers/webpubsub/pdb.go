package webpubsub

import (
	"context"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers/internal/apply"
)

// reconcilePodDisruptionBudget keeps voluntary disruptions (node drains) to one gateway pod at a time
// when the instance runs, or may be autoscaled to, several; with a single pod the budget would protect
// nothing, so it is removed.
func (r *Reconciler) reconcilePodDisruptionBudget(ctx context.Context, s *scope) (ctrl.Result, error) {
	if needsPDB(s.w) {
		return ctrl.Result{}, apply.Apply(ctx, r.Client, s.w, gatewayPDB(s.w))
	}
	return ctrl.Result{}, deleteGatewayChild(ctx, r.Client, s.w, &policyv1.PodDisruptionBudget{})
}

// needsPDB reports whether w runs more than one gateway pod, or has an autoscaler that may run more.
// (Keeping the budget while an autoscaler moves between one pod and more avoids churning it.)
func needsPDB(w *v1alpha1.WebPubSub) bool {
	if _, running := gatewayReplicas(w); running > 1 {
		return true
	}
	a := w.Spec.Autoscaling
	return a != nil && a.MaxReplicas > 1 && !autoscalingRefused(w)
}

func gatewayPDB(w *v1alpha1.WebPubSub) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: w.GatewayName(), Namespace: w.Namespace, Labels: gatewayLabels(w)},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: ptr.To(intstr.FromInt32(1)),
			Selector:       &metav1.LabelSelector{MatchLabels: gatewayLabels(w)},
		},
	}
}
