package kubesecrets

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kwps/kwps/dataplane/auth"
)

func TestKeys(t *testing.T) {
	const name = "sample-access-keys"
	values := []string{"key-one", "key-two", "key-three", "key-four"}
	keysAre := func(t *testing.T, ks *auth.KeySet, want ...string) {
		t.Helper()
		eventually(t, "keys "+strings.Join(want, ","), func() bool { return slices.Equal(ks.Keys(), want) })
	}
	tests := []struct {
		name  string
		steps func(t *testing.T, client *fake.Clientset, ks *auth.KeySet, k *Keys, logs *syncBuffer)
	}{
		{
			name: "both keys are applied, and an edited key replaces its old value",
			steps: func(t *testing.T, client *fake.Clientset, ks *auth.KeySet, k *Keys, logs *syncBuffer) {
				keysAre(t, ks, "key-one", "key-two")
				update(t, client, secret(name, map[string]string{"primaryKey": "key-three", "secondaryKey": "key-two"}))
				keysAre(t, ks, "key-three", "key-two")
				update(t, client, secret(name, map[string]string{"primaryKey": "key-three", "secondaryKey": "key-four\n"}))
				keysAre(t, ks, "key-three", "key-four")
			},
		},
		{
			name: "a Secret emptied by mistake keeps the current keys",
			steps: func(t *testing.T, client *fake.Clientset, ks *auth.KeySet, k *Keys, logs *syncBuffer) {
				keysAre(t, ks, "key-one", "key-two")
				update(t, client, secret(name, map[string]string{"primaryKey": " "}))
				eventually(t, "the empty Secret is reported", func() bool { return strings.Contains(logs.String(), "holds neither key") })
				if got := ks.Keys(); !slices.Equal(got, []string{"key-one", "key-two"}) {
					t.Fatalf("keys after an empty edit: %d keys, want the previous two", len(got))
				}
			},
		},
		{
			name: "a deleted Secret keeps the current keys until it is recreated",
			steps: func(t *testing.T, client *fake.Clientset, ks *auth.KeySet, k *Keys, logs *syncBuffer) {
				keysAre(t, ks, "key-one", "key-two")
				if err := client.CoreV1().Secrets(testNS).Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
				if _, err := client.CoreV1().Secrets(testNS).Create(t.Context(), secret(name, map[string]string{"primaryKey": "key-four"}), metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				keysAre(t, ks, "key-four")
				if !k.Loaded() {
					t.Fatal("not loaded")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(secret(name, map[string]string{"primaryKey": "key-one", "secondaryKey": "key-two"}),
				secret("unrelated", map[string]string{"primaryKey": "not-mine"}))
			namedOnly(t, client, name)
			ks := auth.NewKeySet("", "")
			logs := &syncBuffer{}
			k := startKeys(t, client, ks, name, logs)
			tt.steps(t, client, ks, k, logs)
			for _, v := range append(values, "not-mine") {
				if strings.Contains(logs.String(), v) {
					t.Fatalf("a key value is in the log:\n%s", logs)
				}
			}
		})
	}
}

// TestKeysLoaded: readiness waits for the Secret, which may appear after the gateway starts.
func TestKeysLoaded(t *testing.T) {
	const name = "late-keys"
	client := fake.NewClientset()
	namedOnly(t, client, name)
	ks := auth.NewKeySet("", "")
	k := startKeys(t, client, ks, name, &syncBuffer{})
	if k.Loaded() {
		t.Fatal("Loaded without a Secret")
	}
	if _, err := client.CoreV1().Secrets(testNS).Create(t.Context(), secret(name, map[string]string{"secondaryKey": "only-secondary"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "loaded", k.Loaded)
	if got := ks.Primary(); got != "only-secondary" {
		t.Fatalf("signing key = %q, want the secondary key when there is no primary", got)
	}
}

func startKeys(t *testing.T, client *fake.Clientset, ks *auth.KeySet, name string, logs *syncBuffer) *Keys {
	t.Helper()
	k, err := NewKeys(KeysOptions{Client: client, Namespace: testNS, Name: name, Keys: ks, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); k.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return k
}

func update(t *testing.T, client *fake.Clientset, s *corev1.Secret) {
	t.Helper()
	if _, err := client.CoreV1().Secrets(testNS).Update(t.Context(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}
