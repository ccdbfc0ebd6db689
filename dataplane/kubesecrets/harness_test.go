package kubesecrets

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const (
	testNS = "apps"
	// within is how long an edit may take to reach the gateway (the contract says seconds).
	within = 2 * time.Second
)

func secret(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// namedOnly makes the fake client behave like a Role restricted by resourceNames: a list or watch of
// Secrets must select one name with a field selector, and only the names in allowed are authorized.
// The fake ignores field selectors, so this also stands in for the API server's filtering.
func namedOnly(t *testing.T, client *fake.Clientset, allowed ...string) {
	t.Helper()
	check := func(a k8stesting.Action) error {
		var sel string
		switch a := a.(type) {
		case k8stesting.ListAction:
			sel = a.GetListRestrictions().Fields.String()
		case k8stesting.WatchAction:
			sel = a.GetWatchRestrictions().Fields.String()
		}
		name, ok := strings.CutPrefix(sel, "metadata.name=")
		if !ok {
			t.Errorf("%s of secrets without a metadata.name field selector (%q): RBAC resourceNames would refuse it", a.GetVerb(), sel)
			return apierrors.NewForbidden(corev1.Resource("secrets"), "", fmt.Errorf("not a named request"))
		}
		for _, n := range allowed {
			if n == name {
				return nil
			}
		}
		return apierrors.NewForbidden(corev1.Resource("secrets"), name, fmt.Errorf("not in resourceNames"))
	}
	client.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if err := check(a); err != nil {
			return true, nil, err
		}
		return false, nil, nil
	})
	client.PrependWatchReactor("secrets", func(a k8stesting.Action) (bool, watch.Interface, error) {
		if err := check(a); err != nil {
			return true, nil, err
		}
		return false, nil, nil
	})
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
