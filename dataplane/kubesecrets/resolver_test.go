package kubesecrets

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kwps/kwps/dataplane/hubconfig"
)

func startResolver(t *testing.T, client *fake.Clientset, o ResolverOptions) *Resolver {
	t.Helper()
	o.Client, o.Namespace = client, testNS
	o.Logger = slog.New(slog.DiscardHandler)
	r, err := NewResolver(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "running", func() bool {
		_, err := r.Resolve(t.Context(), hubconfig.SecretKeyRef{Name: "code", Key: "code"})
		return !errors.Is(err, ErrNotRunning)
	})
	return r
}

func TestResolve(t *testing.T) {
	const value = "s3cr3t-code-value"
	tests := []struct {
		name    string
		ref     hubconfig.SecretKeyRef
		want    string
		wantErr string // substring; "" means success
	}{
		{name: "a key's value", ref: hubconfig.SecretKeyRef{Name: "code", Key: "code"}, want: value},
		{name: "a trailing newline is not part of a code", ref: hubconfig.SecretKeyRef{Name: "code", Key: "echoed"}, want: value},
		{name: "a missing key", ref: hubconfig.SecretKeyRef{Name: "code", Key: "nope"}, wantErr: `secret "code" has no key "nope"`},
		{name: "a missing Secret", ref: hubconfig.SecretKeyRef{Name: "ghost", Key: "code"}, wantErr: `secret "ghost" not found`},
		{name: "a Secret the Role does not name", ref: hubconfig.SecretKeyRef{Name: "locked", Key: "code"}, wantErr: `secret "locked" cannot be read`},
	}
	client := fake.NewClientset(
		secret("code", map[string]string{"code": value, "echoed": value + "\n"}),
		secret("locked", map[string]string{"code": value}),
	)
	namedOnly(t, client, "code", "ghost")
	r := startResolver(t, client, ResolverOptions{SyncTimeout: 3 * time.Second})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			got, err := r.Resolve(t.Context(), tt.ref)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Resolve = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Resolve error = %v; want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), value) {
				t.Fatalf("the error holds the secret value: %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("the error took %v: a refused Secret must fail fast, not wait for a sync", d)
			}
		})
	}
}

// TestResolveFollowsEdits: the code of the next event is the edited one.
func TestResolveFollowsEdits(t *testing.T) {
	client := fake.NewClientset(secret("code", map[string]string{"code": "first"}))
	namedOnly(t, client, "code")
	r := startResolver(t, client, ResolverOptions{})
	ref := hubconfig.SecretKeyRef{Name: "code", Key: "code"}
	if got, err := r.Resolve(t.Context(), ref); err != nil || got != "first" {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	update(t, client, secret("code", map[string]string{"code": "second"}))
	eventually(t, "the edited code", func() bool {
		got, err := r.Resolve(t.Context(), ref)
		return err == nil && got == "second"
	})
	if err := client.CoreV1().Secrets(testNS).Delete(t.Context(), "code", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a deleted Secret stops resolving", func() bool {
		_, err := r.Resolve(t.Context(), ref)
		return err != nil && strings.Contains(err.Error(), "not found")
	})
}

// TestResolverIdleAndBounds: unused watches stop; the number of watches is bounded.
func TestResolverIdleAndBounds(t *testing.T) {
	client := fake.NewClientset(secret("a", map[string]string{"k": "1"}), secret("b", map[string]string{"k": "2"}))
	namedOnly(t, client, "a", "b", "code")
	r := startResolver(t, client, ResolverOptions{Idle: 200 * time.Millisecond, MaxSecrets: 2})
	if _, err := r.Resolve(t.Context(), hubconfig.SecretKeyRef{Name: "a", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(t.Context(), hubconfig.SecretKeyRef{Name: "b", Key: "k"}); err != nil {
		// "code" from startResolver may still be watched: the bound counts it.
		if !strings.Contains(err.Error(), "already watching 2") {
			t.Fatal(err)
		}
	}
	if n := r.Watched(); n != 2 {
		t.Fatalf("watching %d Secrets, want the bound, 2", n)
	}
	eventually(t, "idle watches stopped", func() bool { return r.Watched() == 0 })
	if got, err := r.Resolve(t.Context(), hubconfig.SecretKeyRef{Name: "b", Key: "k"}); err != nil || got != "2" {
		t.Fatalf("Resolve after expiry = %q, %v", got, err)
	}
}

func TestResolveNotRunning(t *testing.T) {
	r, err := NewResolver(ResolverOptions{Client: fake.NewClientset(), Namespace: testNS})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(t.Context(), hubconfig.SecretKeyRef{Name: "a", Key: "k"}); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Resolve before Run: %v, want ErrNotRunning", err)
	}
}
