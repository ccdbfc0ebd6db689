package webpubsub

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kwps/kwps/api/v1alpha1"
)

func deployment(generation int64, st appsv1.DeploymentStatus) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: generation}, Status: st}
}

func TestSetReadyCondition(t *testing.T) {
	rolled := func(n int32) appsv1.DeploymentStatus {
		return appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
	}
	tests := []struct {
		name        string
		in          readiness
		wantStatus  metav1.ConditionStatus
		wantReason  string
		wantMessage string
	}{{
		name:        "keys missing wins over everything",
		in:          readiness{keysProblem: `the access-keys Secret "k" does not exist`, requested: 3, running: 1},
		wantStatus:  metav1.ConditionFalse,
		wantReason:  v1alpha1.ReasonSecretNotFound,
		wantMessage: `Secret "k" does not exist`,
	}, {
		name:        "replicas without a backplane, even when the one pod is up",
		in:          readiness{requested: 3, running: 1, deployment: deployment(3, rolled(1))},
		wantStatus:  metav1.ConditionFalse,
		wantReason:  v1alpha1.ReasonBackplaneRequired,
		wantMessage: "spec.replicas is 3 but spec.scaleOut.redis is not set: the gateway is not scaled beyond 1 replica",
	}, {
		name:        "autoscaling beyond one pod without a backplane, even when the one pod is up",
		in:          readiness{requested: 1, running: 1, refusedMaxReplicas: 5, deployment: deployment(3, rolled(1))},
		wantStatus:  metav1.ConditionFalse,
		wantReason:  v1alpha1.ReasonBackplaneRequired,
		wantMessage: "spec.autoscaling.maxReplicas is 5 but spec.scaleOut.redis is not set: no autoscaler runs",
	}, {
		name:        "no deployment observed",
		in:          readiness{requested: 1, running: 1},
		wantStatus:  metav1.ConditionFalse,
		wantReason:  v1alpha1.ReasonGatewaysUnavailable,
		wantMessage: "has not been created",
	}, {
		name:        "new spec not observed by the Deployment controller",
		in:          readiness{requested: 1, running: 1, deployment: deployment(4, rolled(1))},
		wantStatus:  metav1.ConditionFalse,
		wantReason:  v1alpha1.ReasonGatewaysUnavailable,
		wantMessage: "not rolled out yet: 1 of 1 gateway pods ready",
	}, {
		name: "some pods not ready",
		in: readiness{requested: 3, running: 3, deployment: deployment(3, appsv1.DeploymentStatus{
			ObservedGeneration: 3, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 1, AvailableReplicas: 1,
		})},
		wantStatus:  metav1.ConditionFalse,
		wantReason:  v1alpha1.ReasonGatewaysUnavailable,
		wantMessage: "1 of 3 gateway pods ready (3 up to date, 1 available)",
	}, {
		name: "rolling update: the surge pod is up, an old pod still stops",
		in: readiness{requested: 2, running: 2, deployment: deployment(3, appsv1.DeploymentStatus{
			ObservedGeneration: 3, Replicas: 3, UpdatedReplicas: 2, ReadyReplicas: 3, AvailableReplicas: 3,
		})},
		wantStatus:  metav1.ConditionFalse,
		wantReason:  v1alpha1.ReasonGatewaysUnavailable,
		wantMessage: "1 old pods still stopping",
	}, {
		name:        "available with the desired replicas",
		in:          readiness{requested: 2, running: 2, deployment: deployment(3, rolled(2))},
		wantStatus:  metav1.ConditionTrue,
		wantReason:  v1alpha1.ReasonReconciled,
		wantMessage: "2 of 2 gateway pods ready",
	}, {
		name:        "scaled to zero",
		in:          readiness{requested: 0, running: 0, deployment: deployment(3, rolled(0))},
		wantStatus:  metav1.ConditionTrue,
		wantReason:  v1alpha1.ReasonReconciled,
		wantMessage: "spec.replicas is 0",
	}, {
		name:        "scaling to zero",
		in:          readiness{requested: 0, running: 0, deployment: deployment(3, appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 2, UpdatedReplicas: 2})},
		wantStatus:  metav1.ConditionFalse,
		wantReason:  v1alpha1.ReasonGatewaysUnavailable,
		wantMessage: "2 gateway pods still stopping",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &v1alpha1.WebPubSub{ObjectMeta: metav1.ObjectMeta{Generation: 7}}
			setReadyCondition(w, tt.in)
			c := meta.FindStatusCondition(w.Status.Conditions, v1alpha1.ConditionReady)
			if c == nil {
				t.Fatal("no Ready condition")
			}
			if c.Status != tt.wantStatus || c.Reason != tt.wantReason || !strings.Contains(c.Message, tt.wantMessage) {
				t.Errorf("Ready = %s %s %q, want %s %s containing %q", c.Status, c.Reason, c.Message, tt.wantStatus, tt.wantReason, tt.wantMessage)
			}
			if c.ObservedGeneration != 7 {
				t.Errorf("observedGeneration %d, want 7", c.ObservedGeneration)
			}
		})
	}
}

// TestSetReadyConditionReplacesTheLastOne: the condition is derived anew on every pass, not carried.
func TestSetReadyConditionReplacesTheLastOne(t *testing.T) {
	w := &v1alpha1.WebPubSub{}
	setReadyCondition(w, readiness{keysProblem: "missing"})
	setReadyCondition(w, readiness{requested: 1, running: 1, deployment: deployment(1, appsv1.DeploymentStatus{
		ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
	})})
	if len(w.Status.Conditions) != 1 || w.Status.Conditions[0].Status != metav1.ConditionTrue {
		t.Fatalf("conditions %+v, want one Ready=True", w.Status.Conditions)
	}
}

func TestGatewayReplicas(t *testing.T) {
	redis := &v1alpha1.RedisSpec{URL: "redis://r:6379"}
	tests := []struct {
		name                   string
		replicas               *int32
		redis                  *v1alpha1.RedisSpec
		wantRequested, wantRun int32
	}{
		{name: "unset is one", wantRequested: 1, wantRun: 1},
		{name: "zero", replicas: ptr.To[int32](0), wantRequested: 0, wantRun: 0},
		{name: "one without redis", replicas: ptr.To[int32](1), wantRequested: 1, wantRun: 1},
		{name: "three without redis runs one", replicas: ptr.To[int32](3), wantRequested: 3, wantRun: 1},
		{name: "three with redis", replicas: ptr.To[int32](3), redis: redis, wantRequested: 3, wantRun: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &v1alpha1.WebPubSub{Spec: v1alpha1.WebPubSubSpec{Replicas: tt.replicas, ScaleOut: v1alpha1.ScaleOutSpec{Redis: tt.redis}}}
			if req, run := gatewayReplicas(w); req != tt.wantRequested || run != tt.wantRun {
				t.Errorf("gatewayReplicas = %d, %d, want %d, %d", req, run, tt.wantRequested, tt.wantRun)
			}
		})
	}
}
