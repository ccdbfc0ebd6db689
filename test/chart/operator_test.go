package chart

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers"
)

// TestOperatorWorksWithTheChartRBAC: the operator's controllers, running as the ServiceAccount the
// chart creates (impersonated) with only the RBAC the chart grants, turn a WebPubSub and a Hub into
// their gateway and config; the chart's PodMonitor scrapes the gateway pods they render.
func TestOperatorWorksWithTheChartRBAC(t *testing.T) {
	env, admin := apiServer(t)
	ctx := t.Context()
	r := release{name: "monitored", namespace: "kwps-monitored", set: []string{"monitoring.podMonitor.enabled=true"}}
	objs := render(t, r)
	ensureNamespaces(ctx, t, admin, objs)
	applyAll(ctx, t, admin, objs)
	d, c := operatorContainer(t, objs)
	gatewayImage, ok := argValue(c.Args, "--gateway-image")
	if !ok {
		t.Fatalf("operator args %v have no --gateway-image", c.Args)
	}

	asOperator := rest.CopyConfig(env.Config)
	asOperator.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + r.namespace + ":" + d.Spec.Template.Spec.ServiceAccountName,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + r.namespace, "system:authenticated"},
	}
	startOperator(t, asOperator, gatewayImage)

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "apps-"}}
	if err := admin.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	w := &v1alpha1.WebPubSub{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "sample"}}
	hub := &v1alpha1.Hub{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "chat"},
		Spec:       v1alpha1.HubSpec{WebPubSubRef: v1alpha1.WebPubSubReference{Name: "sample"}},
	}
	for _, obj := range []client.Object{w, hub} {
		if err := admin.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	var gateway appsv1.Deployment
	waitFor(ctx, t, "the gateway Deployment", func(ctx context.Context) (bool, error) {
		err := admin.Get(ctx, types.NamespacedName{Namespace: ns.Name, Name: w.GatewayName()}, &gateway)
		return err == nil, client.IgnoreNotFound(err)
	})
	check(t, "gateway image", gateway.Spec.Template.Spec.Containers[0].Image, gatewayImage)
	podMonitorSelects(t, objs.must(t, "PodMonitor", "monitored-kwps-gateways"), &gateway)

	waitFor(ctx, t, "the connection strings", func(ctx context.Context) (bool, error) {
		err := admin.Get(ctx, types.NamespacedName{Namespace: ns.Name, Name: w.ConnectionStringsSecretName()}, &corev1.Secret{})
		return err == nil, client.IgnoreNotFound(err)
	})
	waitFor(ctx, t, "the Hub Ready", func(ctx context.Context) (bool, error) {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(hub), hub); err != nil {
			return false, err
		}
		return meta.IsStatusConditionTrue(hub.Status.Conditions, v1alpha1.ConditionReady), nil
	})
}

// startOperator runs the operator's controllers with cfg until the test ends.
func startOperator(t *testing.T, cfg *rest.Config, gatewayImage string) {
	t.Helper()
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	_, admin := apiServer(t)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 admin.Scheme(),
		Cache:                  controllers.CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The manager outlives the test's context by the time Cleanup runs, so it gets its own.
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	if err := controllers.Setup(ctx, mgr, controllers.Options{GatewayImage: gatewayImage}); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	syncCtx, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		t.Fatal("the operator's cache did not sync: the chart's ClusterRole misses a list or watch it needs")
	}
}
