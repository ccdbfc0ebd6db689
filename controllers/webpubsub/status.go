package webpubsub

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kwps/kwps/api/v1alpha1"
)

// setStatus derives w's status from what a successful reconcile observed.
func setStatus(w *v1alpha1.WebPubSub, s *scope) {
	w.Status.Endpoint = w.PublicEndpoint()
	w.Status.Selector = labels.SelectorFromSet(gatewayLabels(w)).String()
	if s.connectionStrings {
		w.Status.ConnectionStringSecretName = w.ConnectionStringsSecretName()
	}
	setReplicas(w, s.deployment)
	requested, running := gatewayReplicas(w)
	setReadyCondition(w, readiness{
		keysProblem: s.keysProblem, requested: requested, running: running,
		refusedMaxReplicas: refusedMaxReplicas(w), deployment: s.deployment,
	})
}

// refusedMaxReplicas is spec.autoscaling.maxReplicas when the autoscaler is refused for want of a
// backplane, else 0.
func refusedMaxReplicas(w *v1alpha1.WebPubSub) int32 {
	if autoscalingRefused(w) {
		return w.Spec.Autoscaling.MaxReplicas
	}
	return 0
}

// setReplicas copies the gateway Deployment's pod counts, when it was observed.
func setReplicas(w *v1alpha1.WebPubSub, d *appsv1.Deployment) {
	if d == nil {
		return
	}
	w.Status.Replicas = d.Status.Replicas
	w.Status.ReadyReplicas = d.Status.ReadyReplicas
}

// readiness is what the Ready condition of a WebPubSub is derived from.
type readiness struct {
	// keysProblem says why the access keys cannot be used; empty when they can.
	keysProblem string
	// requested is spec.replicas; running is what the Deployment was given.
	requested, running int32
	// refusedMaxReplicas is spec.autoscaling.maxReplicas when it asks for more than one pod without a
	// backplane; 0 otherwise.
	refusedMaxReplicas int32
	// deployment is the gateway Deployment; nil when it was not observed.
	deployment *appsv1.Deployment
}

// setReadyCondition sets the Ready condition: True when the gateways are available with the desired
// replicas, False with the first reason that keeps them from it.
func setReadyCondition(w *v1alpha1.WebPubSub, in readiness) {
	c := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, ObservedGeneration: w.Generation}
	switch {
	case in.keysProblem != "":
		c.Reason, c.Message = v1alpha1.ReasonSecretNotFound, in.keysProblem
	case in.requested > in.running:
		c.Reason = v1alpha1.ReasonBackplaneRequired
		c.Message = fmt.Sprintf("spec.replicas is %d but spec.scaleOut.redis is not set: the gateway is not scaled beyond %d "+
			"replica until a Redis backplane is configured, since a message would only reach the clients of one pod", in.requested, in.running)
	case in.refusedMaxReplicas > 0:
		c.Reason = v1alpha1.ReasonBackplaneRequired
		c.Message = fmt.Sprintf("spec.autoscaling.maxReplicas is %d but spec.scaleOut.redis is not set: no autoscaler runs until a "+
			"Redis backplane is configured, since a message would only reach the clients of one pod", in.refusedMaxReplicas)
	case in.deployment == nil:
		c.Reason, c.Message = v1alpha1.ReasonGatewaysUnavailable, "the gateway Deployment has not been created yet"
	default:
		available, msg := rolledOut(in.deployment, in.running)
		c.Reason, c.Message = v1alpha1.ReasonGatewaysUnavailable, msg
		if available {
			c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.ReasonReconciled
		}
	}
	meta.SetStatusCondition(&w.Status.Conditions, c)
}

// rolledOut reports whether d runs desired up-to-date, available pods and nothing else (the rule of
// kubectl rollout status), with the counts for people.
func rolledOut(d *appsv1.Deployment, desired int32) (bool, string) {
	st := d.Status
	counts := fmt.Sprintf("%d of %d gateway pods ready (%d up to date, %d available)", st.ReadyReplicas, desired, st.UpdatedReplicas, st.AvailableReplicas)
	switch {
	case st.ObservedGeneration < d.Generation:
		return false, "the gateway Deployment's latest spec is not rolled out yet: " + counts
	case desired == 0 && st.Replicas == 0:
		return true, "spec.replicas is 0: no gateway pod runs"
	case desired == 0:
		return false, fmt.Sprintf("spec.replicas is 0: %d gateway pods still stopping", st.Replicas)
	case st.UpdatedReplicas < desired || st.AvailableReplicas < desired:
		return false, counts
	case st.Replicas > st.UpdatedReplicas:
		return false, counts + fmt.Sprintf("; %d old pods still stopping", st.Replicas-st.UpdatedReplicas)
	}
	return true, counts
}
