package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kwps/kwps/api/v1alpha1"
)

// applyWithin is how long a change in the API server may take to reach a gateway (the contract:
// about 2 s for hubs, seconds for keys; the margin absorbs a loaded CI machine).
const applyWithin = 10 * time.Second

// TestGatewayContract runs `kwps gateway` against the objects the operator contract says the operator
// creates, made here by the test, with the permissions of the contract's Role and nothing more.
func TestGatewayContract(t *testing.T) {
	bin := kwpsBinary(t)
	c := apiServer(t)
	const (
		ns       = "contract"
		instance = "demo"
		endpoint = "http://demo.contract.svc"
	)
	c.namespace(t, ns)
	up := newUpstream(t)
	keysName, codeName := instance+v1alpha1.AccessKeysSecretSuffix, "demo-code"

	// The gateway's identity: exactly the Role of the contract.
	gw := instance + v1alpha1.GatewaySuffix
	labels := map[string]string{v1alpha1.InstanceLabel: instance, v1alpha1.ComponentLabel: v1alpha1.ComponentGateway}
	must(t, create(t, c, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: gw, Namespace: ns, Labels: labels}}))
	must(t, create(t, c, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: gw, Namespace: ns, Labels: labels},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch"}, ResourceNames: []string{keysName, codeName}},
		},
	}))
	must(t, create(t, c, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: gw, Namespace: ns, Labels: labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: gw},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: gw, Namespace: ns}},
	}))
	must(t, create(t, c, secretOf(ns, codeName, map[string]string{"code": "first-code"})))
	must(t, create(t, c, secretOf(ns, "unrelated", map[string]string{"primaryKey": "not-for-the-gateway"})))
	chat := hubJSON{Name: "chat", Generation: 1, Handler: up.URL() + "/eventhandler/{event}", Pattern: "*", Code: codeName, Ready: true}
	must(t, create(t, c, chat.configMap(ns, instance, "demo-hub-chat")))
	// Another instance's hub of the same name must not leak into this one.
	must(t, create(t, c, hubJSON{Name: "chat", Generation: 7, Handler: up.URL() + "/other/{event}", Pattern: "*", Ready: true}.configMap(ns, "other", "other-hub-chat")))

	public, admin := freeAddr(t), freeAddr(t)
	// The gateway reaches the API server through a proxy the test can cut.
	proxy := newCutProxy(t, c.apiAddr(t))
	kubeconfig := c.serviceAccountKubeconfig(t, ns, gw, proxy.Addr())
	p := startProcess(t, "gateway", bin, []string{"gateway", "--namespace", ns, "--instance", instance,
		"--listen", public, "--admin-listen", admin, "--endpoint", endpoint, "--keys-secret", keysName, "--log-format", "text"},
		[]string{"KUBECONFIG=" + kubeconfig})

	// Not ready until the keys Secret has been read.
	eventually(t, applyWithin, "/readyz names the missing keys", func() error {
		status, body, err := httpGet("http://" + admin + "/readyz")
		if err != nil || status != http.StatusServiceUnavailable || !strings.Contains(body, "access keys") {
			return fmt.Errorf("/readyz = %d %q %w", status, body, err)
		}
		return nil
	})
	must(t, create(t, c, secretOf(ns, keysName, map[string]string{"primaryKey": "key-one", "secondaryKey": "key-two"})))
	waitReady(t, p, admin)

	first := connectionString{Endpoint: mustURL(t, endpoint), AccessKey: "key-one"}
	second := connectionString{Endpoint: first.Endpoint, AccessKey: "key-two"}
	client := mustDial(t, public, "chat", clientToken(t, first, "chat", "alice"))

	t.Run("events reach the upstream with the code from the Secret", func(t *testing.T) {
		connect := up.waitFor(t, "connect", applyWithin, func(e upstreamEvent) bool {
			return e.Type == "azure.webpubsub.sys.connect" && e.ConnectionID == client.id
		})
		if !strings.Contains(connect.Query, "code=first-code") {
			t.Fatalf("connect went to ?%s, want the code of Secret %s", connect.Query, codeName)
		}
		must(t, client.event("chat", 1))
		up.waitFor(t, "the user event", applyWithin, userEvent("/eventhandler/", "chat", client.id))
		if n := len(up.matching(func(e upstreamEvent) bool { return strings.HasPrefix(e.Path, "/other/") })); n > 0 {
			t.Fatalf("another instance's hub config was used (%d requests)", n)
		}
	})

	t.Run("both keys are valid", func(t *testing.T) {
		mustDial(t, public, "chat", clientToken(t, second, "chat", "bob"))
	})

	t.Run("a hub edit applies without dropping the connection", func(t *testing.T) {
		edited := chat
		edited.Generation, edited.Handler, edited.Pattern = 2, up.URL()+"/v2/{event}", "news"
		must(t, update(t, c, edited.configMap(ns, instance, "demo-hub-chat")))
		ack := 10
		eventually(t, applyWithin, "the edited handler receives news", func() error {
			ack++
			if err := client.event("news", ack); err != nil {
				return err
			}
			if len(up.matching(userEvent("/v2/", "news", client.id))) == 0 {
				return fmt.Errorf("not yet")
			}
			return nil
		})
	})

	t.Run("an invalid hub document keeps the last good config", func(t *testing.T) {
		bad := chat.configMap(ns, instance, "demo-hub-chat")
		bad.Data["hub.json"] = `{"version":1,"name":"chat","webSocketKeepAliveIntervalInSeconds":500}`
		must(t, update(t, c, bad))
		eventually(t, applyWithin, "the rejection is logged", func() error {
			if !p.logContains("demo-hub-chat") || !p.logContains("keeping the last good") {
				return fmt.Errorf("not logged")
			}
			return nil
		})
		before := len(up.matching(userEvent("/v2/", "news", client.id)))
		must(t, client.event("news", 100))
		eventually(t, applyWithin, "news still goes to the last good handler", func() error {
			if len(up.matching(userEvent("/v2/", "news", client.id))) <= before {
				return fmt.Errorf("not yet")
			}
			return nil
		})
	})

	t.Run("a hub that is not ready refuses clients", func(t *testing.T) {
		closed := hubJSON{Name: "closed", Generation: 1, Handler: up.URL() + "/broken/{event}", Pattern: "*", Ready: false, Message: "event handler failed validation"}
		must(t, create(t, c, closed.configMap(ns, instance, "demo-hub-closed")))
		eventually(t, applyWithin, "hub closed refuses", func() error {
			_, err := dialHub(t.Context(), public, "closed", clientToken(t, first, "closed", "alice"))
			if handshakeStatus(err) != http.StatusServiceUnavailable {
				return fmt.Errorf("connect: %w, want 503", err)
			}
			return nil
		})
	})

	t.Run("an edited key is accepted and the replaced one refused", func(t *testing.T) {
		must(t, update(t, c, secretOf(ns, keysName, map[string]string{"primaryKey": "key-three", "secondaryKey": "key-two"})))
		third := connectionString{Endpoint: first.Endpoint, AccessKey: "key-three"}
		eventually(t, applyWithin, "key-three accepted", func() error {
			cl, err := dialHub(t.Context(), public, "chat", clientToken(t, third, "chat", "carol"))
			if err == nil {
				cl.conn.Close()
			}
			return err
		})
		if _, err := dialHub(t.Context(), public, "chat", clientToken(t, first, "chat", "alice")); handshakeStatus(err) != http.StatusUnauthorized {
			t.Fatalf("a token of the replaced key: %v, want 401", err)
		}
		mustDial(t, public, "chat", clientToken(t, second, "chat", "bob"))
	})

	t.Run("an edited code is used for the next event", func(t *testing.T) {
		must(t, update(t, c, secretOf(ns, codeName, map[string]string{"code": "second-code"})))
		ack := 200
		eventually(t, applyWithin, "the new code", func() error {
			ack++
			if err := client.event("news", ack); err != nil {
				return err
			}
			for _, e := range up.matching(userEvent("/v2/", "news", client.id)) {
				if strings.Contains(e.Query, "code=second-code") {
					return nil
				}
			}
			return fmt.Errorf("not yet")
		})
	})

	t.Run("the last config keeps serving while the API server is unreachable", func(t *testing.T) {
		proxy.cut()
		defer proxy.restore()
		eventually(t, applyWithin, "the gateway tries to reconnect and is refused", func() error {
			if proxy.refusedCount() == 0 {
				return fmt.Errorf("no attempt yet")
			}
			return nil
		})
		// Changed meanwhile, behind the gateway's back.
		late := chat
		late.Generation, late.Handler, late.Pattern = 3, up.URL()+"/v3/{event}", "late"
		must(t, update(t, c, late.configMap(ns, instance, "demo-hub-chat")))

		if status, body, err := httpGet("http://" + admin + "/readyz"); err != nil || status != http.StatusOK {
			t.Fatalf("/readyz during the outage = %d %q %v, want 200 (the last config serves)", status, body, err)
		}
		third := connectionString{Endpoint: first.Endpoint, AccessKey: "key-three"}
		during := mustDial(t, public, "chat", clientToken(t, third, "chat", "frank"))
		must(t, during.event("news", 1))
		up.waitFor(t, "an event sent during the outage", applyWithin, userEvent("/v2/", "news", during.id))

		proxy.restore()
		ack := 300
		// The reflector retries with a backoff that grows while the API server is away.
		eventually(t, 45*time.Second, "the change made during the outage", func() error {
			ack++
			if err := client.event("late", ack); err != nil {
				return err
			}
			if len(up.matching(userEvent("/v3/", "late", client.id))) == 0 {
				return fmt.Errorf("not yet")
			}
			return nil
		})
	})

	if t.Failed() {
		return
	}
	for _, secret := range []string{"key-one", "key-two", "key-three", "first-code", "second-code", "not-for-the-gateway"} {
		if p.logContains(secret) {
			t.Errorf("the gateway logged a secret value (%s)", secret)
		}
	}
	// The connection lived through every change.
	must(t, client.event("late", 999))
}

// hubJSON is a rendered hub, as the operator writes it (the test's own rendering: it does not trust
// hubconfig to check hubconfig).
type hubJSON struct {
	Name             string
	Generation       int64
	Handler, Pattern string
	Code             string // codeSecretRef name (key "code"), if any
	Ready            bool
	Message          string
}

func (h hubJSON) configMap(ns, instance, name string) *corev1.ConfigMap {
	handler := map[string]any{"urlTemplate": h.Handler, "userEventPattern": h.Pattern, "systemEvents": []string{"connect", "connected"}, "auth": map[string]any{"type": "None"}}
	if h.Code != "" {
		handler["codeSecretRef"] = map[string]string{"name": h.Code, "key": "code"}
	}
	b, _ := json.Marshal(map[string]any{
		"version": 1, "name": h.Name, "generation": h.Generation, "anonymousConnectPolicy": "Deny",
		"webSocketKeepAliveIntervalInSeconds": 20, "eventHandlers": []any{handler},
		"ready": h.Ready, "notReadyMessage": h.Message,
	})
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
			v1alpha1.InstanceLabel: instance, v1alpha1.ComponentLabel: v1alpha1.ComponentHubConfig,
		}},
		Data: map[string]string{"hub.json": string(b)},
	}
}
