package webpubsub

import (
	"context"

	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers/internal/apply"
)

// reconcilePodDisruptionBudget keeps voluntary disruptions (node drains) to one gateway pod at a time
// when there are several, and removes the budget otherwise: with one pod it would block drains.
func (r *Reconciler) reconcilePodDisruptionBudget(ctx context.Context, s *scope) (ctrl.Result, error) {
	if _, running := gatewayReplicas(s.w); running > 1 {
		return ctrl.Result{}, apply.Apply(ctx, r.Client, s.w, gatewayPDB(s.w))
	}
	pdb := &policyv1.PodDisruptionBudget{}
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: s.w.Namespace, Name: s.w.GatewayName()}, pdb)
	if apierrors.IsNotFound(err) || (err == nil && !metav1.IsControlledBy(pdb, s.w)) {
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, client.IgnoreNotFound(r.Client.Delete(ctx, pdb, client.Preconditions{UID: &pdb.UID}))
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
