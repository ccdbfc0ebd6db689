// Package webpubsub reconciles WebPubSub objects: the access keys and connection strings Secrets, and
// the gateway pods (Deployment, Service, ServiceAccount, Role, RoleBinding, PodDisruptionBudget,
// HorizontalPodAutoscaler) that serve the instance, as the operator -> gateway contract lays them out
// (see api/v1alpha1/names.go).
//
// Secrets are watched as metadata only and their values read straight from the API server, so the
// operator never caches the cluster's Secrets.
package webpubsub

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers/internal/phases"
	"github.com/kwps/kwps/controllers/internal/statuspatch"
)

// Reconciler reconciles WebPubSub objects.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads Secrets, which the cache holds as metadata only.
	APIReader client.Reader
	// GatewayImage is the gateway image of instances that do not set spec.image.
	GatewayImage string
}

// scope is what one reconcile of a WebPubSub learns, phase by phase.
type scope struct {
	w *v1alpha1.WebPubSub

	// keys are the access keys; keysProblem says why they cannot be used (Ready=False SecretNotFound).
	keys        accessKeys
	keysProblem string
	// connectionStrings is true once the connection-strings Secret is up to date.
	connectionStrings bool
	// hubs is what the instance's Hubs need from the gateway pods.
	hubs hubNeeds
	// deployment is the gateway Deployment as the API server returned it.
	deployment *appsv1.Deployment
}

func (s *scope) blocked() bool { return s.keysProblem != "" }

// +kubebuilder:rbac:groups=webpubsub.kwps.io,resources=webpubsubs,verbs=get;list;watch
// +kubebuilder:rbac:groups=webpubsub.kwps.io,resources=webpubsubs/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=webpubsub.kwps.io,resources=webpubsubs/finalizers,verbs=update
// +kubebuilder:rbac:groups=webpubsub.kwps.io,resources=hubs,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch
// The gateway Role grants reading ConfigMaps and Secrets: the operator must hold what it grants.
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=services;serviceaccounts,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;update;patch;delete

// Reconcile brings the children of one WebPubSub to what its spec asks for and reports what it observed
// in its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	w := &v1alpha1.WebPubSub{}
	if err := r.Client.Get(ctx, req.NamespacedName, w); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := statuspatch.Take(w)
	s := &scope{w: w}
	defer func() {
		// On error the observations are partial: keep the last status and let the retry report.
		if reterr == nil {
			setStatus(w, s)
			w.Status.ObservedGeneration = w.Generation
		}
		if err := before.Patch(ctx, r.Client, w); err != nil {
			reterr = kerrors.NewAggregate([]error{reterr, err})
		}
	}()
	return phases.Run(ctx, s, (*scope).blocked,
		r.reconcileAccessKeys,
		r.reconcileConnectionStrings,
		r.observeHubs,
		r.reconcileServiceAccount,
		r.reconcileRole,
		r.reconcileRoleBinding,
		r.reconcileDeployment,
		r.reconcileService,
		r.reconcilePodDisruptionBudget,
		r.reconcileAutoscaler,
	)
}

// SetupWithManager registers the controller: WebPubSubs, the children they own, the Hubs that reference
// them and the Secrets that hold their keys. The field indexes of package index must be registered.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("webpubsub").
		For(&v1alpha1.WebPubSub{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&corev1.ServiceAccount{}).
		Owns(&rbacv1.Role{}).
		Owns(&rbacv1.RoleBinding{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		// The autoscaler writes its status every few seconds; only a change of its spec (or its deletion)
		// needs a reconcile.
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&corev1.Secret{}, builder.OnlyMetadata).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.forKeysSecret), builder.OnlyMetadata).
		// Only a Hub's spec (its instance, code Secrets and identities) matters here, not its status.
		Watches(&v1alpha1.Hub{}, handler.EnqueueRequestsFromMapFunc(forHub),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(r)
}
