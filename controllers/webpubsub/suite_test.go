package webpubsub_test

import (
	"context"
	"os"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers"
	"github.com/kwps/kwps/controllers/hub"
	"github.com/kwps/kwps/controllers/internal/testenv"
)

// testImage is the operator's default gateway image in this suite.
const testImage = "registry.test/kwps:suite"

// env is the control plane of the suite; the operator's controllers run against it.
var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(testenv.Run(m, &env, controllers.CacheOptions(), func(ctx context.Context, mgr ctrl.Manager) error {
		return controllers.Setup(ctx, mgr, controllers.Options{
			GatewayImage: testImage,
			HubChecks:    hub.Schedule{RetryMin: 200 * time.Millisecond, RetryMax: time.Second},
		})
	}))
}

// Shorthands of the suite.
var (
	eventually = testenv.Eventually
	ready      = testenv.Ready
)

// newWebPubSub returns a WebPubSub with spec {} (the API server applies the defaults).
func newWebPubSub(ns, name string) *v1alpha1.WebPubSub {
	return &v1alpha1.WebPubSub{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}
