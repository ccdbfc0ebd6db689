// Package hub reconciles Hub objects: each Hub that references a WebPubSub is rendered into a ConfigMap
// (api/v1alpha1.HubConfigMapName) that the instance's gateways serve, once its event handler URLs have
// passed the abuse-protection check. Until they pass, the ConfigMap says the hub is not ready and the
// gateways refuse new clients to it (DESIGN.md decision 13); a failing check is retried with backoff,
// a changed URL is checked again, and a passing one is re-checked every few minutes.
//
// The state of the checks lives in the ConfigMap (its hub.json and annotations), so every reconcile
// decides from observation whether a check is due.
package hub

import (
	"context"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers/internal/phases"
	"github.com/kwps/kwps/controllers/internal/statuspatch"
	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/upstream"
)

// maxConcurrentReconciles lets a few hubs be checked at once, so that one slow upstream (a check waits
// up to upstream.ValidateTimeout) does not hold up the others.
const maxConcurrentReconciles = 4

// Reconciler reconciles Hub objects.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads Secrets, which the cache holds as metadata only.
	APIReader client.Reader
	// Recorder emits an Event each time the outcome of a hub's checks changes.
	Recorder events.EventRecorder
	// HTTPClient sends the abuse-protection checks; SetupWithManager sets upstream.NewHTTPClient() when
	// it is nil.
	HTTPClient *http.Client
	// Schedule says when checks are retried and repeated; zero fields take their defaults.
	Schedule Schedule
	// Clock is the time source; nil is the real clock.
	Clock clock.PassiveClock
}

// scope is what one reconcile of a Hub learns, phase by phase.
type scope struct {
	hub *v1alpha1.Hub
	now time.Time

	// cfg is the rendered hub; specErr says why the spec cannot be rendered.
	cfg     *hubconfig.Hub
	specErr error
	// w is the referenced WebPubSub; webPubSubMissing is set when it does not exist. origin is the
	// origin of its checks.
	w                *v1alpha1.WebPubSub
	webPubSubMissing bool
	origin           string
	originErr        error
	// conflict names the Hub that serves the same hub name of the same WebPubSub instead of this one.
	conflict string
	// codes are the resolved codeSecretRef values (memory only); versions are their Secrets'
	// resourceVersions; secretProblem says why one cannot be resolved.
	codes         map[hubconfig.SecretKeyRef]string
	versions      map[string]string
	secretProblem string
	// check is the outcome of the latest abuse-protection check, and when the next one is due.
	check checkState
	// configMap is the name of the ConfigMap written.
	configMap string
}

// blocked reports whether the hub cannot be rendered for any gateway.
func (s *scope) blocked() bool {
	return s.specErr != nil || s.webPubSubMissing || s.originErr != nil || s.conflict != ""
}

// +kubebuilder:rbac:groups=webpubsub.kwps.io,resources=hubs,verbs=get;list;watch
// +kubebuilder:rbac:groups=webpubsub.kwps.io,resources=hubs/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=webpubsub.kwps.io,resources=hubs/finalizers,verbs=update
// +kubebuilder:rbac:groups=webpubsub.kwps.io,resources=webpubsubs,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile renders one Hub for its instance's gateways and reports the outcome in its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	hub := &v1alpha1.Hub{}
	if err := r.Client.Get(ctx, req.NamespacedName, hub); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := statuspatch.Take(hub)
	s := &scope{hub: hub, now: r.clock().Now()}
	defer func() {
		// On error the observations are partial: keep the last status and let the retry report.
		if reterr == nil {
			setStatus(hub, s)
			hub.Status.ObservedGeneration = hub.Generation
		}
		if err := before.Patch(ctx, r.Client, hub); err != nil {
			reterr = kerrors.NewAggregate([]error{reterr, err})
		}
	}()
	return phases.Run(ctx, s, (*scope).blocked,
		r.renderSpec,
		r.resolveWebPubSub,
		r.resolveCodeSecrets,
		r.checkHandlers,
		r.reconcileConfigMap,
	)
}

// renderSpec converts the spec into the gateways' hub configuration.
func (r *Reconciler) renderSpec(_ context.Context, s *scope) (ctrl.Result, error) {
	s.cfg, s.specErr = hubconfig.FromSpec(s.hub)
	return ctrl.Result{}, nil
}

func (r *Reconciler) clock() clock.PassiveClock {
	if r.Clock == nil {
		return clock.RealClock{}
	}
	return r.Clock
}

// SetupWithManager registers the controller: Hubs, their ConfigMaps, the WebPubSubs they reference, the
// Hubs that share their hub name, and the Secrets their handlers take a code from. The field indexes of
// package index must be registered.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.HTTPClient == nil {
		r.HTTPClient = upstream.NewHTTPClient()
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("hub").
		For(&v1alpha1.Hub{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&corev1.ConfigMap{}).
		Watches(&v1alpha1.WebPubSub{}, handler.EnqueueRequestsFromMapFunc(r.forWebPubSub),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.Hub{}, handler.EnqueueRequestsFromMapFunc(r.forNamesake),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.forCodeSecret), builder.OnlyMetadata).
		WithOptions(controller.Options{MaxConcurrentReconciles: maxConcurrentReconciles}).
		Complete(r)
}
