package webpubsub

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/kwps/kwps/api/v1alpha1"
)

func TestGatewayAutoscaler(t *testing.T) {
	tests := []struct {
		name              string
		autoscaling       v1alpha1.AutoscalingSpec
		wantMin, wantMax  int32
		wantCPUPercentage int32
	}{
		{name: "defaults", autoscaling: v1alpha1.AutoscalingSpec{MaxReplicas: 4}, wantMin: 1, wantMax: 4, wantCPUPercentage: 70},
		{
			name:        "set",
			autoscaling: v1alpha1.AutoscalingSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 10, TargetCPUUtilizationPercentage: ptr.To[int32](50)},
			wantMin:     2, wantMax: 10, wantCPUPercentage: 50,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hpa := gatewayAutoscaler(sample(func(w *v1alpha1.WebPubSub) { w.Spec.Autoscaling = &tt.autoscaling }))
			equal(t, "name", hpa.Name, "sample-gateway")
			equal(t, "namespace", hpa.Namespace, "apps")
			// The WebPubSub, not the Deployment: spec.replicas stays the one number everything follows.
			equal(t, "target", hpa.Spec.ScaleTargetRef, autoscalingv2.CrossVersionObjectReference{
				APIVersion: "webpubsub.kwps.io/v1alpha1", Kind: "WebPubSub", Name: "sample",
			})
			equal(t, "min", *hpa.Spec.MinReplicas, tt.wantMin)
			equal(t, "max", hpa.Spec.MaxReplicas, tt.wantMax)
			equal(t, "metrics", hpa.Spec.Metrics, []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{
					Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(tt.wantCPUPercentage),
				}},
			}})
			equal(t, "scale down", hpa.Spec.Behavior.ScaleDown.Policies, []autoscalingv2.HPAScalingPolicy{{
				Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60,
			}})
		})
	}
}

func TestNeedsPDB(t *testing.T) {
	redis := &v1alpha1.RedisSpec{URL: "redis://r:6379"}
	tests := []struct {
		name     string
		replicas int32
		redis    *v1alpha1.RedisSpec
		auto     *v1alpha1.AutoscalingSpec
		want     bool
	}{
		{name: "one pod", replicas: 1},
		{name: "two pods without a backplane run one", replicas: 2},
		{name: "two pods with a backplane", replicas: 2, redis: redis, want: true},
		{name: "one pod, autoscaled up to three", replicas: 1, redis: redis, auto: &v1alpha1.AutoscalingSpec{MaxReplicas: 3}, want: true},
		{name: "autoscaling refused without a backplane", replicas: 1, auto: &v1alpha1.AutoscalingSpec{MaxReplicas: 3}},
		{name: "autoscaled to at most one", replicas: 1, auto: &v1alpha1.AutoscalingSpec{MaxReplicas: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := sample(func(w *v1alpha1.WebPubSub) {
				w.Spec.Replicas = ptr.To(tt.replicas)
				w.Spec.ScaleOut.Redis = tt.redis
				w.Spec.Autoscaling = tt.auto
			})
			if got := needsPDB(w); got != tt.want {
				t.Errorf("needsPDB = %v, want %v", got, tt.want)
			}
		})
	}
}
