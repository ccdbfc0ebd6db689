package hub

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/dataplane/hubconfig"
)

func TestScheduleDue(t *testing.T) {
	sc := Schedule{RetryMin: time.Second, RetryMax: 10 * time.Second, Recheck: time.Minute}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		last     checkState
		inputs   string
		now      time.Time
		wantDue  bool
		wantWait time.Duration
	}{
		{name: "never checked", inputs: "a", now: t0, wantDue: true},
		{name: "inputs changed", last: checkState{inputs: "a", at: t0, ready: true}, inputs: "b", now: t0, wantDue: true},
		{name: "passed recently", last: checkState{inputs: "a", at: t0, ready: true}, inputs: "a", now: t0.Add(10 * time.Second), wantWait: 50 * time.Second},
		{name: "passed a Recheck ago", last: checkState{inputs: "a", at: t0, ready: true}, inputs: "a", now: t0.Add(time.Minute), wantDue: true},
		{name: "first failure, within its backoff", last: checkState{inputs: "a", at: t0, failures: 1}, inputs: "a", now: t0.Add(300 * time.Millisecond), wantWait: 700 * time.Millisecond},
		{name: "first failure, backoff over", last: checkState{inputs: "a", at: t0, failures: 1}, inputs: "a", now: t0.Add(time.Second), wantDue: true},
		{name: "third failure waits 4 s", last: checkState{inputs: "a", at: t0, failures: 3}, inputs: "a", now: t0.Add(time.Second), wantWait: 3 * time.Second},
		{name: "backoff is capped", last: checkState{inputs: "a", at: t0, failures: 40}, inputs: "a", now: t0, wantWait: 10 * time.Second},
		{name: "a failure with other inputs is checked at once", last: checkState{inputs: "a", at: t0, failures: 5}, inputs: "b", now: t0, wantDue: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			due, wait := sc.due(tt.last, tt.inputs, tt.now)
			if due != tt.wantDue || wait != tt.wantWait {
				t.Errorf("due = %v, %v, want %v, %v", due, wait, tt.wantDue, tt.wantWait)
			}
		})
	}
}

func TestCheckStateNext(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name         string
		last         checkState
		inputs       string
		ready        bool
		wantFailures int
	}{
		{name: "first failure", inputs: "a", wantFailures: 1},
		{name: "another failure of the same inputs", last: checkState{inputs: "a", failures: 2}, inputs: "a", wantFailures: 3},
		{name: "a failure of new inputs starts over", last: checkState{inputs: "a", failures: 2}, inputs: "b", wantFailures: 1},
		{name: "a failure after a pass starts over", last: checkState{inputs: "a", ready: true}, inputs: "a", wantFailures: 1},
		{name: "a pass resets", last: checkState{inputs: "a", failures: 4}, inputs: "a", ready: true, wantFailures: 0},
		{name: "the count is bounded", last: checkState{inputs: "a", failures: maxFailures}, inputs: "a", wantFailures: maxFailures},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.last.next(tt.inputs, t0, tt.ready, "m")
			if got.failures != tt.wantFailures || got.inputs != tt.inputs || !got.at.Equal(t0) || got.ready != tt.ready {
				t.Errorf("next = %+v, want %d failures of %q at %v", got, tt.wantFailures, tt.inputs, t0)
			}
		})
	}
}

func TestScheduleDefaults(t *testing.T) {
	got := Schedule{}.withDefaults()
	want := Schedule{RetryMin: DefaultRetryMin, RetryMax: DefaultRetryMax, Recheck: DefaultRecheck}
	if got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	if got := (Schedule{RetryMin: time.Hour}).withDefaults(); got.RetryMax != time.Hour {
		t.Errorf("RetryMax %v below RetryMin", got.RetryMax)
	}
}

func TestSummarize(t *testing.T) {
	a, b := errors.New("event handler http://a/validate: refused"), errors.New("event handler http://b/validate: 500")
	tests := []struct {
		name      string
		errs      []error
		wantReady bool
		want      string
	}{
		{name: "all pass", errs: []error{nil, nil}, wantReady: true},
		{name: "one fails", errs: []error{nil, b}, want: b.Error()},
		{name: "two fail: the first, and a count", errs: []error{a, nil, b}, want: a.Error() + " (and 1 more failing event handler URLs)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready, msg := summarize(tt.errs)
			if ready != tt.wantReady || msg != tt.want {
				t.Errorf("summarize = %v %q, want %v %q", ready, msg, tt.wantReady, tt.want)
			}
		})
	}
}

// TestCheckInputs: what a check depends on changes the digest; other settings do not.
func TestCheckInputs(t *testing.T) {
	base := func() *scope {
		return &scope{
			origin: "sample.ns.svc",
			cfg: &hubconfig.Hub{Name: "chat", KeepAliveSeconds: 20, EventHandlers: []hubconfig.EventHandler{
				{URLTemplate: "http://up/{event}", CodeSecretRef: &hubconfig.SecretKeyRef{Name: "fn", Key: "code"}},
			}},
			versions: map[string]string{"fn": "41"},
			codes:    map[hubconfig.SecretKeyRef]string{{Name: "fn", Key: "code"}: "s3cret"},
		}
	}
	ref := checkInputs(base())
	changes := []struct {
		name   string
		mutate func(*scope)
		same   bool
	}{
		{name: "URL", mutate: func(s *scope) { s.cfg.EventHandlers[0].URLTemplate = "http://up2/{event}" }},
		{name: "origin", mutate: func(s *scope) { s.origin = "pubsub.example.com" }},
		{name: "hub name", mutate: func(s *scope) { s.cfg.Name = "lobby" }},
		{name: "code Secret edited", mutate: func(s *scope) { s.versions["fn"] = "42" }},
		{name: "code key", mutate: func(s *scope) { s.cfg.EventHandlers[0].CodeSecretRef.Key = "other" }},
		{name: "another handler", mutate: func(s *scope) {
			s.cfg.EventHandlers = append(s.cfg.EventHandlers, hubconfig.EventHandler{URLTemplate: "http://up/{event}"})
		}},
		{name: "keepalive", mutate: func(s *scope) { s.cfg.KeepAliveSeconds = 45 }, same: true},
		{name: "code value alone (its Secret's version changes with it)", mutate: func(s *scope) { s.codes[hubconfig.SecretKeyRef{Name: "fn", Key: "code"}] = "other" }, same: true},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			s := base()
			c.mutate(s)
			if got := checkInputs(s); (got == ref) != c.same {
				t.Errorf("digest same = %v, want %v", got == ref, c.same)
			}
		})
	}
}

// TestHubConfigMapRoundTrip: the ConfigMap holds the contract's shape, and the last check read back
// from it is the one written.
func TestHubConfigMapRoundTrip(t *testing.T) {
	hub := &v1alpha1.Hub{ObjectMeta: metav1.ObjectMeta{Name: "chat", Namespace: "apps", Generation: 3}}
	cfg, err := hubconfig.FromSpec(hub)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	tests := []struct {
		name  string
		st    checkState
		want  checkState
		ready bool
		msg   string
	}{
		{name: "passed", st: checkState{inputs: "d1", at: at, ready: true, message: "ignored"}, want: checkState{inputs: "d1", at: at, ready: true}, ready: true},
		{name: "failed", st: checkState{inputs: "d2", at: at, failures: 3, message: "refused"}, want: checkState{inputs: "d2", at: at, failures: 3, message: "refused"}, msg: "refused"},
		{name: "not checked (a Secret is missing)", st: checkState{message: "no Secret"}, want: checkState{}, msg: "no Secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cm, err := hubConfigMap(hub, "sample", cfg, tt.st)
			if err != nil {
				t.Fatal(err)
			}
			if cm.Name != "sample-hub-chat" || cm.Namespace != "apps" {
				t.Errorf("name %s/%s", cm.Namespace, cm.Name)
			}
			wantLabels := map[string]string{v1alpha1.InstanceLabel: "sample", v1alpha1.ComponentLabel: v1alpha1.ComponentHubConfig}
			if !reflect.DeepEqual(cm.Labels, wantLabels) {
				t.Errorf("labels %v", cm.Labels)
			}
			rendered, err := hubconfig.Unmarshal([]byte(cm.Data[hubconfig.DataKey]))
			if err != nil {
				t.Fatal(err)
			}
			if rendered.Ready != tt.ready || rendered.NotReadyMessage != tt.msg || rendered.Generation != 3 || rendered.Name != "chat" {
				t.Errorf("hub.json %+v, want ready %v message %q", rendered, tt.ready, tt.msg)
			}
			if got := checkStateOf(cm); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("read back %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNamesakeWinner(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	hub := func(name, hubName string, created time.Time) v1alpha1.Hub {
		return v1alpha1.Hub{
			ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(created)},
			Spec:       v1alpha1.HubSpec{HubName: hubName},
		}
	}
	deleting := hub("old", "chat", t0.Add(-time.Hour))
	deleting.DeletionTimestamp = &metav1.Time{Time: t0}
	tests := []struct {
		name   string
		me     v1alpha1.Hub
		others []v1alpha1.Hub
		want   string
	}{
		{name: "alone", me: hub("chat", "", t0), others: []v1alpha1.Hub{hub("chat", "", t0)}},
		{name: "other names", me: hub("chat", "", t0), others: []v1alpha1.Hub{hub("lobby", "", t0.Add(-time.Hour))}},
		{name: "an older namesake in another case wins", me: hub("b", "Chat", t0), others: []v1alpha1.Hub{hub("a", "chat", t0.Add(-time.Second))}, want: "a"},
		{name: "a newer namesake loses", me: hub("b", "chat", t0), others: []v1alpha1.Hub{hub("a", "CHAT", t0.Add(time.Second))}},
		{name: "same second: by name", me: hub("b", "chat", t0), others: []v1alpha1.Hub{hub("a", "chat", t0)}, want: "a"},
		{name: "metadata.name against hubName", me: hub("chat", "", t0), others: []v1alpha1.Hub{hub("x", "Chat", t0.Add(-time.Second))}, want: "x"},
		{name: "a deleted namesake is ignored", me: hub("chat", "", t0), others: []v1alpha1.Hub{deleting}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := namesakeWinner(&tt.me, append(tt.others, tt.me)); got != tt.want {
				t.Errorf("namesakeWinner = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSetReadyCondition(t *testing.T) {
	tests := []struct {
		name       string
		in         readiness
		wantStatus metav1.ConditionStatus
		wantReason string
		wantMsg    string
	}{
		{name: "invalid spec first", in: readiness{specErr: &hubconfig.FieldError{Field: "spec.hubName", Message: "bad"}, webPubSubMissing: true},
			wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.ReasonInvalidSpec, wantMsg: "spec.hubName: bad"},
		{name: "no WebPubSub", in: readiness{webPubSubMissing: true, secretProblem: "x"},
			wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.ReasonWebPubSubNotFound, wantMsg: `the WebPubSub "sample" (spec.webPubSubRef.name) does not exist in namespace "apps"`},
		{name: "unusable endpoint", in: readiness{originErr: errors.New("not a URL")},
			wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.ReasonInvalidSpec, wantMsg: "not a URL"},
		{name: "namesake", in: readiness{conflict: "older"},
			wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.ReasonHubNameConflict, wantMsg: `the Hub "older", created earlier, serves the hub "chat"`},
		{name: "code Secret missing", in: readiness{secretProblem: `the Secret "fn" does not exist`},
			wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.ReasonSecretNotFound, wantMsg: `the Secret "fn" does not exist`},
		{name: "handlers fail", in: readiness{message: "event handler http://up/validate: refused"},
			wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.ReasonHandlerValidationFailed, wantMsg: "event handler http://up/validate: refused"},
		{name: "ready", in: readiness{handlersReady: true, configMap: "sample-hub-chat"},
			wantStatus: metav1.ConditionTrue, wantReason: v1alpha1.ReasonReconciled, wantMsg: `ConfigMap "sample-hub-chat"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &v1alpha1.Hub{
				ObjectMeta: metav1.ObjectMeta{Name: "chat", Namespace: "apps", Generation: 5},
				Spec:       v1alpha1.HubSpec{WebPubSubRef: v1alpha1.WebPubSubReference{Name: "sample"}},
			}
			setReadyCondition(h, tt.in)
			if len(h.Status.Conditions) != 1 {
				t.Fatalf("conditions %+v", h.Status.Conditions)
			}
			c := h.Status.Conditions[0]
			if c.Type != v1alpha1.ConditionReady || c.Status != tt.wantStatus || c.Reason != tt.wantReason || !strings.Contains(c.Message, tt.wantMsg) || c.ObservedGeneration != 5 {
				t.Errorf("condition %+v, want %s %s containing %q at generation 5", c, tt.wantStatus, tt.wantReason, tt.wantMsg)
			}
		})
	}
}
