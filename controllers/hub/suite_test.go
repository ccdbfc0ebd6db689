package hub_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/controllers"
	"github.com/kwps/kwps/controllers/hub"
	"github.com/kwps/kwps/controllers/internal/testenv"
	"github.com/kwps/kwps/dataplane/hubconfig"
)

// env is the control plane of the suite; the operator's controllers run against it.
var env *testenv.Env

// schedule keeps retries short for the suite; passing checks are not repeated within a test.
var schedule = hub.Schedule{RetryMin: 200 * time.Millisecond, RetryMax: time.Second, Recheck: time.Hour}

func TestMain(m *testing.M) {
	os.Exit(testenv.Run(m, &env, controllers.CacheOptions(), func(ctx context.Context, mgr ctrl.Manager) error {
		return controllers.Setup(ctx, mgr, controllers.Options{GatewayImage: "registry.test/kwps:suite", HubChecks: schedule})
	}))
}

// Shorthands of the suite.
var (
	eventually = testenv.Eventually
	ready      = testenv.Ready
)

// upstream is an event handler on loopback that answers the abuse-protection check as
// @azure/web-pubsub-express does, or refuses it while refuse is set.
type upstream struct {
	*httptest.Server
	refuse atomic.Bool
	checks atomic.Int32

	mu   sync.Mutex
	last *http.Request // the latest check
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodOptions {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		u.checks.Add(1)
		u.mu.Lock()
		u.last = r.Clone(context.Background())
		u.mu.Unlock()
		if u.refuse.Load() {
			w.Header().Set("WebHook-Allowed-Origin", "someone-else.example.com")
			return
		}
		w.Header().Set("WebHook-Allowed-Origin", "*")
	}))
	t.Cleanup(u.Close)
	return u
}

// lastCheck returns the latest check the upstream received.
func (u *upstream) lastCheck() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last
}

func newWebPubSub(ns, name string) *v1alpha1.WebPubSub {
	return &v1alpha1.WebPubSub{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

// newHub returns a Hub of the WebPubSub w with one event handler per URL template.
func newHub(ns, name, w string, urls ...string) *v1alpha1.Hub {
	h := &v1alpha1.Hub{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.HubSpec{WebPubSubRef: v1alpha1.WebPubSubReference{Name: w}},
	}
	for _, u := range urls {
		h.Spec.EventHandlers = append(h.Spec.EventHandlers, v1alpha1.EventHandler{
			URLTemplate: u, UserEventPattern: "*", SystemEvents: []v1alpha1.SystemEvent{v1alpha1.SystemEventConnect},
		})
	}
	return h
}

// hubJSON reads and parses the rendered hub in a ConfigMap.
func hubJSON(g Gomega, cm *corev1.ConfigMap) *hubconfig.Hub {
	h, err := hubconfig.Unmarshal([]byte(cm.Data[hubconfig.DataKey]))
	g.ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return h
}

// events returns the Events about the Hub named name with the reason.
func events(ctx context.Context, g Gomega, ns, name, reason string) []eventsv1.Event {
	var list eventsv1.EventList
	g.ExpectWithOffset(1, env.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == "Hub" && e.Regarding.Name == name && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}
