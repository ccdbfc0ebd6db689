package hubconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kwps/kwps/api/v1alpha1"
)

const (
	testNS       = "apps"
	testInstance = "sample"
	// within is how long a change may take to reach the Store (the contract says a second or two).
	within = 2 * time.Second
)

// hubCM is a hub ConfigMap as the operator renders it.
func hubCM(name, instance, doc string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: map[string]string{
			v1alpha1.InstanceLabel: instance, v1alpha1.ComponentLabel: v1alpha1.ComponentHubConfig,
		}},
		Data: map[string]string{DataKey: doc},
	}
}

// hubDoc renders a valid hub document.
func hubDoc(name string, generation int64, keepAlive int) string {
	h := Default(name)
	h.Generation, h.KeepAliveSeconds = generation, keepAlive
	b, _ := h.Marshal()
	return string(b)
}

// syncBuffer is a log sink safe for the informer's goroutine and the test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type kubeHarness struct {
	client *fake.Clientset
	store  *Store
	src    *KubeSource
	logs   *syncBuffer
}

func startKubeSource(t *testing.T, client *fake.Clientset) *kubeHarness {
	t.Helper()
	h := &kubeHarness{client: client, store: NewStore(), logs: &syncBuffer{}}
	src, err := NewKubeSource(KubeSourceOptions{
		Client: client, Namespace: testNS, Instance: testInstance, Store: h.store,
		Logger: slog.New(slog.NewTextHandler(h.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.src = src
	if src.Synced() {
		t.Fatal("Synced before Run")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); src.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "first sync", src.Synced)
	return h
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *kubeHarness) create(t *testing.T, cm *corev1.ConfigMap) {
	t.Helper()
	if _, err := h.client.CoreV1().ConfigMaps(cm.Namespace).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (h *kubeHarness) update(t *testing.T, cm *corev1.ConfigMap) {
	t.Helper()
	if _, err := h.client.CoreV1().ConfigMaps(cm.Namespace).Update(t.Context(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (h *kubeHarness) delete(t *testing.T, name string) {
	t.Helper()
	if err := h.client.CoreV1().ConfigMaps(testNS).Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

// generationIs waits until the Store holds hub at generation gen.
func (h *kubeHarness) generationIs(t *testing.T, hub string, gen int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("hub %s at generation %d", hub, gen), func() bool {
		got, ok := h.store.Lookup(hub)
		return ok && got.Generation == gen
	})
}

// settle gives the informer time to deliver anything still in flight before a negative assertion.
// A marker ConfigMap is created and awaited: events are delivered in order, so once the marker is in
// the Store, every earlier change has been handled.
func (h *kubeHarness) settle(t *testing.T) {
	t.Helper()
	name := fmt.Sprintf("marker%d", time.Now().UnixNano())
	h.create(t, hubCM("sample-hub-"+name, testInstance, hubDoc(name, 1, 20)))
	h.generationIs(t, name, 1)
}

func TestKubeSourceInitialList(t *testing.T) {
	client := fake.NewClientset(
		hubCM("sample-hub-chat", testInstance, hubDoc("Chat", 3, 7)),
		hubCM("sample-hub-news", testInstance, hubDoc("news", 1, 20)),
		hubCM("other-hub-chat", "other", hubDoc("chat", 9, 9)),
	)
	h := startKubeSource(t, client)
	// Synced means the ConfigMaps of the first list are in the Store: no waiting here.
	got, ok := h.store.Lookup("chat")
	if !ok || got.Generation != 3 || got.KeepAliveSeconds != 7 || !got.Ready {
		t.Fatalf("chat after sync = %+v, %v; want generation 3, keepalive 7, ready", got, ok)
	}
	if _, ok := h.store.Lookup("news"); !ok {
		t.Fatal("news is missing after sync")
	}
	if n := len(h.store.Hubs()); n != 2 {
		t.Fatalf("store holds %d hubs, want 2 (another instance's ConfigMap must be ignored)", n)
	}
}

func TestKubeSourceChanges(t *testing.T) {
	unlabelled := hubCM("sample-hub-stray", testInstance, hubDoc("stray", 1, 20))
	delete(unlabelled.Labels, v1alpha1.ComponentLabel)
	newer := Default("future")
	newer.Version = SchemaVersion + 1
	newerDoc, _ := newer.Marshal()

	tests := []struct {
		name  string
		steps func(t *testing.T, h *kubeHarness)
		check func(t *testing.T, h *kubeHarness)
	}{
		{
			name: "an edit applies",
			steps: func(t *testing.T, h *kubeHarness) {
				h.create(t, hubCM("sample-hub-chat", testInstance, hubDoc("chat", 1, 20)))
				h.generationIs(t, "chat", 1)
				h.update(t, hubCM("sample-hub-chat", testInstance, hubDoc("chat", 2, 5)))
			},
			check: func(t *testing.T, h *kubeHarness) {
				h.generationIs(t, "chat", 2)
				if got := h.store.Get("chat").KeepAliveSeconds; got != 5 {
					t.Fatalf("keepalive = %d, want 5", got)
				}
			},
		},
		{
			name: "an invalid edit keeps the last good config and logs the ConfigMap",
			steps: func(t *testing.T, h *kubeHarness) {
				h.create(t, hubCM("sample-hub-chat", testInstance, hubDoc("chat", 1, 20)))
				h.generationIs(t, "chat", 1)
				h.update(t, hubCM("sample-hub-chat", testInstance, `{"version":1,"name":"chat","webSocketKeepAliveIntervalInSeconds":500}`))
				h.update(t, hubCM("sample-hub-chat", testInstance, `{not json`))
			},
			check: func(t *testing.T, h *kubeHarness) {
				h.settle(t)
				if got := h.store.Get("chat"); got.Generation != 1 || !got.Ready || got.KeepAliveSeconds != 20 {
					t.Fatalf("chat = %+v, want the last good config (generation 1, ready)", got)
				}
				if logs := h.logs.String(); strings.Count(logs, "configMap=sample-hub-chat") < 2 || !strings.Contains(logs, "keeping the last good") {
					t.Fatalf("the rejections are not logged with the ConfigMap name:\n%s", logs)
				}
			},
		},
		{
			name: "a first document this build cannot read keeps its hub closed",
			steps: func(t *testing.T, h *kubeHarness) {
				h.create(t, hubCM("sample-hub-future", testInstance, string(newerDoc)))
			},
			check: func(t *testing.T, h *kubeHarness) {
				eventually(t, "future in store", func() bool { _, ok := h.store.Lookup("future"); return ok })
				if got := h.store.Get("future"); got.Ready || got.NotReadyMessage == "" {
					t.Fatalf("future = %+v, want not ready with a reason (not default settings)", got)
				}
			},
		},
		{
			name: "a valid document reopens a closed hub",
			steps: func(t *testing.T, h *kubeHarness) {
				h.create(t, hubCM("sample-hub-future", testInstance, string(newerDoc)))
				h.update(t, hubCM("sample-hub-future", testInstance, hubDoc("future", 4, 20)))
			},
			check: func(t *testing.T, h *kubeHarness) {
				h.generationIs(t, "future", 4)
				if !h.store.Get("future").Ready {
					t.Fatal("future is still not ready")
				}
			},
		},
		{
			name: "a document naming no hub is ignored",
			steps: func(t *testing.T, h *kubeHarness) {
				h.create(t, hubCM("sample-hub-junk", testInstance, `[]`))
				noKey := hubCM("sample-hub-empty", testInstance, "")
				noKey.Data = nil
				h.create(t, noKey)
			},
			check: func(t *testing.T, h *kubeHarness) {
				h.settle(t)
				if n := len(h.store.Hubs()); n != 1 { // the marker
					t.Fatalf("store holds %d hubs, want only the marker: %v", n, h.store.Hubs())
				}
			},
		},
		{
			name: "a deleted ConfigMap removes its hub",
			steps: func(t *testing.T, h *kubeHarness) {
				h.create(t, hubCM("sample-hub-chat", testInstance, hubDoc("chat", 1, 20)))
				h.generationIs(t, "chat", 1)
				h.delete(t, "sample-hub-chat")
			},
			check: func(t *testing.T, h *kubeHarness) {
				eventually(t, "chat removed", func() bool { _, ok := h.store.Lookup("chat"); return !ok })
			},
		},
		{
			name: "ConfigMaps of another instance or without the component label are ignored",
			steps: func(t *testing.T, h *kubeHarness) {
				h.create(t, hubCM("other-hub-chat", "other", hubDoc("chat", 1, 20)))
				h.create(t, unlabelled)
			},
			check: func(t *testing.T, h *kubeHarness) {
				h.settle(t)
				for _, hub := range []string{"chat", "stray"} {
					if _, ok := h.store.Lookup(hub); ok {
						t.Fatalf("hub %s was taken from a ConfigMap that is not this instance's", hub)
					}
				}
			},
		},
		{
			name: "two ConfigMaps naming one hub: the first by name wins, the other takes over",
			steps: func(t *testing.T, h *kubeHarness) {
				h.create(t, hubCM("sample-hub-b", testInstance, hubDoc("dup", 2, 20)))
				h.generationIs(t, "dup", 2)
				h.create(t, hubCM("sample-hub-a", testInstance, hubDoc("dup", 1, 20)))
				h.generationIs(t, "dup", 1)
				h.delete(t, "sample-hub-a")
			},
			check: func(t *testing.T, h *kubeHarness) {
				h.generationIs(t, "dup", 2)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startKubeSource(t, fake.NewClientset())
			tt.steps(t, h)
			tt.check(t, h)
		})
	}
}

// TestKubeSourceOutage: while the API server fails every list and watch, the Store keeps serving; once
// it answers again, changes made meanwhile arrive.
func TestKubeSourceOutage(t *testing.T) {
	client := fake.NewClientset(hubCM("sample-hub-chat", testInstance, hubDoc("chat", 1, 20)))
	var (
		down     atomic.Bool
		failures atomic.Int64
		watchMu  sync.Mutex
		watchers []watch.Interface
	)
	outage := errors.New("connection refused")
	client.PrependReactor("list", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		if down.Load() {
			failures.Add(1)
			return true, nil, outage
		}
		return false, nil, nil
	})
	client.PrependWatchReactor("configmaps", func(a k8stesting.Action) (bool, watch.Interface, error) {
		if down.Load() {
			failures.Add(1)
			return true, nil, outage
		}
		// The tracker's own watch, kept so the test can break it.
		w, err := client.Tracker().Watch(a.GetResource(), a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		watchMu.Lock()
		watchers = append(watchers, w)
		watchMu.Unlock()
		return true, w, nil
	})
	h := startKubeSource(t, client)

	down.Store(true)
	watchMu.Lock()
	for _, w := range watchers {
		w.Stop() // the watch breaks: the reflector starts relisting, and fails
	}
	watchMu.Unlock()
	eventually(t, "relist attempted during the outage", func() bool { return failures.Load() > 0 })
	if got, ok := h.store.Lookup("chat"); !ok || got.Generation != 1 || !h.src.Synced() {
		t.Fatalf("during the outage: chat = %+v, %v, synced %v; want the last config and still synced", got, ok, h.src.Synced())
	}

	// Changed behind the gateway's back (straight in the tracker, not through the failing client).
	cm := hubCM("sample-hub-chat", testInstance, hubDoc("chat", 2, 20))
	if err := client.Tracker().Update(corev1.SchemeGroupVersion.WithResource("configmaps"), cm, testNS); err != nil {
		t.Fatal(err)
	}
	down.Store(false)
	// The reflector backs off after failures; recovery takes its backoff, bounded well under this.
	deadline := time.Now().Add(30 * time.Second)
	for got := h.store.Get("chat"); got.Generation != 2; got = h.store.Get("chat") {
		if time.Now().After(deadline) {
			t.Fatal("the change made during the outage never arrived")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
