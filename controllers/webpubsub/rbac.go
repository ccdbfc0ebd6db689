package webpubsub

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers/internal/apply"
)

// reconcileServiceAccount applies the gateway pods' ServiceAccount.
func (r *Reconciler) reconcileServiceAccount(ctx context.Context, s *scope) (ctrl.Result, error) {
	return ctrl.Result{}, apply.Apply(ctx, r.Client, s.w, gatewayServiceAccount(s.w))
}

// reconcileRole applies the gateway's Role.
func (r *Reconciler) reconcileRole(ctx context.Context, s *scope) (ctrl.Result, error) {
	return ctrl.Result{}, apply.Apply(ctx, r.Client, s.w, gatewayRole(s.w, gatewaySecrets(s.w, s.hubs)))
}

// reconcileRoleBinding binds the gateway's Role to its ServiceAccount.
func (r *Reconciler) reconcileRoleBinding(ctx context.Context, s *scope) (ctrl.Result, error) {
	return ctrl.Result{}, apply.Apply(ctx, r.Client, s.w, gatewayRoleBinding(s.w))
}

func gatewayServiceAccount(w *v1alpha1.WebPubSub) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: w.GatewayName(), Namespace: w.Namespace, Labels: gatewayLabels(w)},
	}
}

// gatewaySecrets are the Secrets the gateway reads: the access keys, the Redis URL's Secret, and the
// Secrets the Hubs' event handlers take their `code` from. Sorted, distinct.
func gatewaySecrets(w *v1alpha1.WebPubSub, hubs hubNeeds) []string {
	names := append([]string{w.AccessKeysSecretName()}, hubs.codeSecrets...)
	if rs := w.Spec.ScaleOut.Redis; rs != nil && rs.URLSecretRef != nil {
		names = append(names, rs.URLSecretRef.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// gatewayRole lets the gateway watch the ConfigMaps of the namespace and read exactly the Secrets it
// needs. RBAC cannot narrow list and watch by label, so ConfigMaps are not narrowed (the gateway lists
// only its instance's, and a hub ConfigMap holds no secret); Secrets are, by name, which authorizes the
// gateway's watches by a metadata.name field selector.
func gatewayRole(w *v1alpha1.WebPubSub, secrets []string) *rbacv1.Role {
	read := []string{"get", "list", "watch"}
	return &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: w.GatewayName(), Namespace: w.Namespace, Labels: gatewayLabels(w)},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: read},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: secrets, Verbs: read},
		},
	}
}

func gatewayRoleBinding(w *v1alpha1.WebPubSub) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: w.GatewayName(), Namespace: w.Namespace, Labels: gatewayLabels(w)},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: w.GatewayName()},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: w.GatewayName(), Namespace: w.Namespace}},
	}
}
