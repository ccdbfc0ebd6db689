package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kwps/kwps/api/v1alpha1"
)

// reconcileWithin bounds how long the operator may take to act on a change (a Hub's check included).
const reconcileWithin = 60 * time.Second

// TestOperatorAndGateways is the whole system without a cluster's nodes: `kwps operator` reconciles
// config/samples (the Hub's URL pointed at a loopback upstream), and two `kwps gateway` processes run
// with the arguments of the Deployment the operator created, authenticated as the gateway
// ServiceAccount, so that the operator's Role is what lets them work.
func TestOperatorAndGateways(t *testing.T) {
	bin := kwpsBinary(t)
	if !hasCommand(bin, "operator") {
		t.Skip("this kwps has no operator command yet")
	}
	c := apiServer(t)
	const ns = "default"
	up := newUpstream(t)
	describeOnFailure(t, c, ns)

	// The operator, with the permissions of its generated ClusterRole.
	operator := startProcess(t, "operator", bin, []string{"operator", "--metrics-bind-address", "0",
		"--health-probe-bind-address", freeAddr(t)}, []string{"KUBECONFIG=" + c.operatorKubeconfig(t)})

	// The samples, with the Hub's upstream on loopback.
	var wps v1alpha1.WebPubSub
	var hub v1alpha1.Hub
	readSample(t, "webpubsub_v1alpha1_webpubsub.yaml", &wps)
	readSample(t, "webpubsub_v1alpha1_hub.yaml", &hub)
	wps.Namespace, hub.Namespace = ns, ns
	if len(hub.Spec.EventHandlers) == 0 {
		t.Fatal("the Hub sample has no event handler")
	}
	hub.Spec.EventHandlers[0].URLTemplate = up.URL() + "/eventhandler/{event}"
	must(t, create(t, c, &wps))
	must(t, create(t, c, &hub))

	hubReady(t, c, ns, hub.Name, metav1.ConditionTrue)
	if n := len(up.matching(func(e upstreamEvent) bool { return e.Method == http.MethodOptions })); n == 0 {
		t.Fatal("the Hub is Ready but its handler was never validated")
	}

	// The gateways, as the Deployment runs them.
	var deploy appsv1.Deployment
	eventually(t, reconcileWithin, "the gateway Deployment", func() error {
		return c.ctrl.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: wps.GatewayName()}, &deploy)
	})
	eventually(t, reconcileWithin, "the gateway's ServiceAccount", func() error {
		return c.ctrl.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: deploy.Spec.Template.Spec.ServiceAccountName}, &corev1.ServiceAccount{})
	})
	kubeconfig := c.serviceAccountKubeconfig(t, ns, deploy.Spec.Template.Spec.ServiceAccountName, "")
	type gatewayProc struct{ public, admin string }
	var gateways []gatewayProc
	for i := range 2 {
		g := gatewayProc{public: freeAddr(t), admin: freeAddr(t)}
		args, env := podCommand(t, &deploy, map[string]string{"--listen": g.public, "--admin-listen": g.admin})
		p := startProcess(t, fmt.Sprintf("gateway-%d", i), bin, args, append(env, "KUBECONFIG="+kubeconfig))
		waitReady(t, p, g.admin)
		gateways = append(gateways, g)
	}

	cs := connectionStrings(t, c, ns, wps.ConnectionStringsSecretName(), "")
	clients := make([]*wsClient, len(gateways))
	parent := t
	t.Run("clients connect through either gateway and their events reach the upstream", func(t *testing.T) {
		for i, g := range gateways {
			cl, err := dialHub(t.Context(), g.public, hubName(&hub), clientToken(t, cs, hubName(&hub), fmt.Sprintf("user%d", i)))
			if err != nil {
				t.Fatalf("connect through gateway %d: %v", i, err)
			}
			parent.Cleanup(func() { cl.conn.Close() }) // the clients live through the later steps
			clients[i] = cl
			up.waitFor(t, "connect", applyWithin, func(e upstreamEvent) bool {
				return e.Type == "azure.webpubsub.sys.connect" && e.ConnectionID == clients[i].id
			})
			must(t, clients[i].event("chat", 1))
			up.waitFor(t, "the user event", applyWithin, userEvent("/eventhandler/", "chat", clients[i].id))
		}
	})

	t.Run("an edited Hub reaches both gateways while clients stay connected", func(t *testing.T) {
		var current v1alpha1.Hub
		must(t, c.ctrl.Get(t.Context(), client.ObjectKeyFromObject(&hub), &current))
		current.Spec.EventHandlers[0].URLTemplate = up.URL() + "/v2/{event}"
		current.Spec.EventHandlers[0].UserEventPattern = "news"
		current.Spec.WebSocketKeepAliveIntervalInSeconds = ptr.To[int32](5)
		must(t, c.ctrl.Update(t.Context(), &current))
		hubReady(t, c, ns, hub.Name, metav1.ConditionTrue)
		if clients[0] == nil || clients[1] == nil {
			t.Skip("no clients connected")
		}
		for i, cl := range clients {
			ack := 10
			eventually(t, applyWithin, fmt.Sprintf("gateway %d sends news to the edited handler", i), func() error {
				ack++
				if err := cl.event("news", ack); err != nil {
					return err // a dropped connection fails here
				}
				if len(up.matching(userEvent("/v2/", "news", cl.id))) == 0 {
					return fmt.Errorf("not yet")
				}
				return nil
			})
		}
	})

	t.Run("a URL that fails validation leaves the Hub not ready and receives nothing", func(t *testing.T) {
		broken := v1alpha1.Hub{
			ObjectMeta: metav1.ObjectMeta{Name: "broken", Namespace: ns},
			Spec: v1alpha1.HubSpec{
				WebPubSubRef:  v1alpha1.WebPubSubReference{Name: wps.Name},
				EventHandlers: []v1alpha1.EventHandler{{URLTemplate: up.URL() + "/broken/{event}", UserEventPattern: "*", SystemEvents: []v1alpha1.SystemEvent{"connect", "connected"}}},
			},
		}
		must(t, create(t, c, &broken))
		cond := hubReady(t, c, ns, broken.Name, metav1.ConditionFalse)
		if cond.Reason != v1alpha1.ReasonHandlerValidationFailed {
			t.Errorf("Ready=False with reason %s (%s), want %s", cond.Reason, cond.Message, v1alpha1.ReasonHandlerValidationFailed)
		}
		for i, g := range gateways {
			eventually(t, applyWithin, fmt.Sprintf("gateway %d refuses clients of hub broken", i), func() error {
				_, err := dialHub(t.Context(), g.public, "broken", clientToken(t, cs, "broken", "mallory"))
				if handshakeStatus(err) != http.StatusServiceUnavailable {
					return fmt.Errorf("connect: %w, want 503", err)
				}
				return nil
			})
		}
		if got := up.matching(func(e upstreamEvent) bool {
			return strings.HasPrefix(e.Path, "/broken/") && e.Method != http.MethodOptions
		}); len(got) > 0 {
			t.Fatalf("the unvalidated URL received %d events: %+v", len(got), got)
		}
	})

	t.Run("a key edited in the keys Secret is accepted by the gateways within seconds", func(t *testing.T) {
		keys := wps.AccessKeysSecretName()
		var s corev1.Secret
		must(t, c.ctrl.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: keys}, &s))
		old := connectionString{Endpoint: cs.Endpoint, AccessKey: string(s.Data[v1alpha1.PrimaryKeyKey])}
		const edited = "an-edited-primary-key-of-the-e2e-test-000000"
		s.Data[v1alpha1.PrimaryKeyKey] = []byte(edited)
		must(t, c.ctrl.Update(t.Context(), &s))
		fresh := connectionString{Endpoint: cs.Endpoint, AccessKey: edited}
		for i, g := range gateways {
			eventually(t, applyWithin, fmt.Sprintf("gateway %d accepts the edited key", i), func() error {
				cl, err := dialHub(t.Context(), g.public, hubName(&hub), clientToken(t, fresh, hubName(&hub), "dave"))
				if err == nil {
					cl.conn.Close()
				}
				return err
			})
			if _, err := dialHub(t.Context(), g.public, hubName(&hub), clientToken(t, old, hubName(&hub), "eve")); handshakeStatus(err) != http.StatusUnauthorized {
				t.Errorf("gateway %d, a token of the replaced key: %v, want 401", i, err)
			}
		}
		// Apps read the new key from the connection-strings Secret.
		connectionStrings(t, c, ns, wps.ConnectionStringsSecretName(), edited)
	})

	// Every client stayed connected through all of it.
	for i, cl := range clients {
		if cl != nil {
			if err := cl.event("news", 999); err != nil {
				t.Errorf("client %d lost its connection: %v", i, err)
			}
		}
	}
	if operator.exited() {
		t.Fatalf("the operator exited: %v", operator.err)
	}
}

// operatorKubeconfig writes a kubeconfig for a user bound to the operator's generated ClusterRole
// (config/rbac/role.yaml), so that the operator runs with the permissions it ships with.
func (c *cluster) operatorKubeconfig(t *testing.T) string {
	t.Helper()
	const user = "kwps-operator"
	var role rbacv1.ClusterRole
	b, err := os.ReadFile(filepath.Join(repoRoot, "config", "rbac", "role.yaml"))
	must(t, err)
	must(t, yaml.UnmarshalStrict(b, &role))
	must(t, create(t, c, &role))
	must(t, create(t, c, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}))
	return c.userKubeconfig(t, user)
}

// readSample decodes config/samples/<name>.
func readSample(t *testing.T, name string, into any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "config", "samples", name))
	must(t, err)
	must(t, yaml.UnmarshalStrict(b, into))
}

// hubName is the hub name clients use for a Hub.
func hubName(h *v1alpha1.Hub) string {
	if h.Spec.HubName != "" {
		return strings.ToLower(h.Spec.HubName)
	}
	return strings.ToLower(h.Name)
}

// hubReady waits for the Hub's Ready condition to have status and describe the current generation.
func hubReady(t *testing.T, c *cluster, ns, name string, status metav1.ConditionStatus) metav1.Condition {
	t.Helper()
	var cond metav1.Condition
	eventually(t, reconcileWithin, fmt.Sprintf("Hub %s Ready=%s", name, status), func() error {
		var h v1alpha1.Hub
		if err := c.ctrl.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &h); err != nil {
			return err
		}
		got := meta.FindStatusCondition(h.Status.Conditions, v1alpha1.ConditionReady)
		switch {
		case got == nil:
			return fmt.Errorf("no Ready condition")
		case got.Status != status:
			return fmt.Errorf("Ready=%s %s: %s", got.Status, got.Reason, got.Message)
		case got.ObservedGeneration != h.Generation || h.Status.ObservedGeneration != h.Generation:
			return fmt.Errorf("generation %d, observed %d (condition %d)", h.Generation, h.Status.ObservedGeneration, got.ObservedGeneration)
		}
		cond = *got
		return nil
	})
	return cond
}

// connectionStrings waits for the connection-strings Secret (holding key, if not empty) and parses its
// primary connection string.
func connectionStrings(t *testing.T, c *cluster, ns, name, key string) connectionString {
	t.Helper()
	var cs connectionString
	eventually(t, reconcileWithin, "the connection-strings Secret", func() error {
		var s corev1.Secret
		if err := c.ctrl.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
			return err
		}
		v := string(s.Data[v1alpha1.PrimaryConnectionStringKey])
		if v == "" || (key != "" && !strings.Contains(v, "AccessKey="+key+";")) {
			return fmt.Errorf("no connection string with the expected key yet")
		}
		cs = parseConnectionString(t, v)
		return nil
	})
	return cs
}

// podCommand returns the arguments and environment of the Deployment's gateway container, with the
// flags in replace set to other values (the listen addresses: every gateway here shares one host).
func podCommand(t *testing.T, d *appsv1.Deployment, replace map[string]string) (args, env []string) {
	t.Helper()
	containers := d.Spec.Template.Spec.Containers
	if len(containers) == 0 {
		t.Fatal("the gateway Deployment has no container")
	}
	ctr := containers[0]
	if len(ctr.Command) > 0 {
		args = append(args, ctr.Command[1:]...) // the image's entrypoint is kwps itself
	}
	args = append(args, ctr.Args...)
	found := map[string]bool{}
	for i := 0; i < len(args); i++ {
		flag, _, inline := strings.Cut(args[i], "=")
		v, ok := replace[flag]
		if !ok {
			continue
		}
		found[flag] = true
		if inline {
			args[i] = flag + "=" + v
		} else if i+1 < len(args) {
			args[i+1] = v
			i++
		}
	}
	for flag := range replace {
		if !found[flag] {
			t.Fatalf("the gateway's arguments %q lack %s", ctr.Args, flag)
		}
	}
	for _, e := range ctr.Env {
		if e.ValueFrom != nil {
			t.Fatalf("env %s comes from a reference, which this test does not resolve", e.Name)
		}
		env = append(env, e.Name+"="+e.Value)
	}
	return args, env
}

// describeOnFailure logs, when the test fails, the state of what the operator reconciles in ns.
func describeOnFailure(t *testing.T, c *cluster, ns string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx := context.Background() // t.Context() has ended by now
		var ws v1alpha1.WebPubSubList
		if err := c.ctrl.List(ctx, &ws, client.InNamespace(ns)); err == nil {
			for _, w := range ws.Items {
				t.Logf("WebPubSub %s: generation %d, status %+v", w.Name, w.Generation, w.Status)
			}
		}
		var hubs v1alpha1.HubList
		if err := c.ctrl.List(ctx, &hubs, client.InNamespace(ns)); err == nil {
			for _, h := range hubs.Items {
				t.Logf("Hub %s: generation %d, status %+v", h.Name, h.Generation, h.Status)
			}
		}
		var cms corev1.ConfigMapList
		if err := c.ctrl.List(ctx, &cms, client.InNamespace(ns), client.HasLabels{v1alpha1.InstanceLabel}); err == nil {
			for _, cm := range cms.Items {
				t.Logf("ConfigMap %s: labels %v, data %v", cm.Name, cm.Labels, cm.Data)
			}
		}
		var events corev1.EventList
		if err := c.ctrl.List(ctx, &events, client.InNamespace(ns)); err == nil {
			for _, e := range events.Items {
				t.Logf("Event %s %s/%s: %s %s", e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
			}
		}
	})
}
