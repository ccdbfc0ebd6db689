package hub

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kwps/kwps/api/v1alpha1"
)

// setStatus derives h's status from what a successful reconcile observed.
func setStatus(h *v1alpha1.Hub, s *scope) {
	h.Status.HubName = hubName(h)
	// An invalid spec leaves the last rendered ConfigMap in place; otherwise it is what was written now
	// (none when the hub cannot be served).
	if s.specErr == nil {
		h.Status.ConfigMapName = s.configMap
	}
	setReadyCondition(h, readinessOf(s))
}

// readiness is what the Ready condition of a Hub is derived from.
type readiness struct {
	// specErr says why the spec cannot be rendered.
	specErr error
	// webPubSubMissing is set when spec.webPubSubRef names no WebPubSub; originErr says why its
	// endpoint cannot be an origin.
	webPubSubMissing bool
	originErr        error
	// conflict names the Hub that serves the same hub name instead.
	conflict string
	// secretProblem says why a codeSecretRef cannot be resolved.
	secretProblem string
	// handlersReady and message are the outcome of the latest check of the handler URLs.
	handlersReady bool
	message       string
	// configMap is the ConfigMap the hub was rendered into.
	configMap string
}

func readinessOf(s *scope) readiness {
	return readiness{
		specErr: s.specErr, webPubSubMissing: s.webPubSubMissing, originErr: s.originErr, conflict: s.conflict,
		secretProblem: s.secretProblem, handlersReady: s.check.ready, message: s.check.message, configMap: s.configMap,
	}
}

// setReadyCondition sets the Ready condition: True when the hub is validated and rendered for the
// gateways, False with the first reason that keeps it from being served.
func setReadyCondition(h *v1alpha1.Hub, in readiness) {
	c := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, ObservedGeneration: h.Generation}
	switch {
	case in.specErr != nil:
		c.Reason, c.Message = v1alpha1.ReasonInvalidSpec, in.specErr.Error()
	case in.webPubSubMissing:
		c.Reason = v1alpha1.ReasonWebPubSubNotFound
		c.Message = fmt.Sprintf("the WebPubSub %q (spec.webPubSubRef.name) does not exist in namespace %q", h.Spec.WebPubSubRef.Name, h.Namespace)
	case in.originErr != nil:
		c.Reason = v1alpha1.ReasonInvalidSpec
		c.Message = fmt.Sprintf("the WebPubSub %q has no usable endpoint: %v", h.Spec.WebPubSubRef.Name, in.originErr)
	case in.conflict != "":
		c.Reason = v1alpha1.ReasonHubNameConflict
		c.Message = fmt.Sprintf("the Hub %q, created earlier, serves the hub %q of the WebPubSub %q: only one Hub per hub name is served",
			in.conflict, hubName(h), h.Spec.WebPubSubRef.Name)
	case in.secretProblem != "":
		c.Reason, c.Message = v1alpha1.ReasonSecretNotFound, in.secretProblem
	case !in.handlersReady:
		c.Reason, c.Message = v1alpha1.ReasonHandlerValidationFailed, in.message
	default:
		c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.ReasonReconciled
		c.Message = fmt.Sprintf("the hub %q is rendered for the gateways in the ConfigMap %q", hubName(h), in.configMap)
	}
	meta.SetStatusCondition(&h.Status.Conditions, c)
}
