// Package testenv runs the controllers' test suites against a real kube-apiserver and etcd (envtest)
// with the CRDs of config/crd/bases installed: start it once per test package, from TestMain.
package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kwps/kwps/api/v1alpha1"
)

// Env is a running control plane.
type Env struct {
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Scheme knows the core kinds and this project's API.
	Scheme *kruntime.Scheme
	// Client talks to the API server directly, without a cache: tests assert through it.
	Client client.Client

	env *envtest.Environment
}

// Start starts kube-apiserver and etcd from KUBEBUILDER_ASSETS (hack/setup-envtest.sh builds them and
// prints the directory; it is run when the variable is unset) and installs the CRDs.
func Start(ctx context.Context) (*Env, error) {
	root := repoRoot()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		var out, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "setup-envtest.sh"))
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("KUBEBUILDER_ASSETS is unset and hack/setup-envtest.sh failed: %w\n%s", err, stderr.String())
		}
		if err := os.Setenv("KUBEBUILDER_ASSETS", strings.TrimSpace(out.String())); err != nil {
			return nil, err
		}
	}
	// controller-runtime's loggers (including its warning that none was set) go to stderr, errors only.
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))

	scheme := kruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("envtest: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, errors.Join(err, env.Stop())
	}
	return &Env{Config: cfg, Scheme: scheme, Client: c, env: env}, nil
}

// Stop stops the control plane.
func (e *Env) Stop() error { return e.env.Stop() }

// StartManager starts a manager whose cache is built with cacheOpts, after setup registered the
// controllers. The manager runs until ctx ends; the returned function cancels it and waits for it.
func (e *Env) StartManager(ctx context.Context, cacheOpts cache.Options, setup func(context.Context, ctrl.Manager) error) (stop func(), err error) {
	mgr, err := ctrl.NewManager(e.Config, ctrl.Options{
		Scheme:                 e.Scheme,
		Cache:                  cacheOpts,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	if err := setup(ctx, mgr); err != nil {
		cancel()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		cancel()
		return nil, errors.Join(errors.New("manager cache did not sync"), <-done)
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}, nil
}

// Run is the body of a suite's TestMain: it starts the control plane and a manager that setup
// registered the controllers with, stores the Env in *env, runs the tests, stops everything and returns
// the exit code.
func Run(m *testing.M, env **Env, cacheOpts cache.Options, setup func(context.Context, ctrl.Manager) error) int {
	// TestMain has no test context; the manager stops with stop below, the control plane with Stop.
	ctx := context.Background()
	e, err := Start(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := e.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	stop, err := e.StartManager(ctx, cacheOpts, setup)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	*env = e
	return m.Run()
}

// Namespace creates a namespace with a generated name for one test; envtest runs no namespace
// controller, so it is not deleted.
func (e *Env) Namespace(ctx context.Context) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	if err := e.Client.Create(ctx, ns); err != nil {
		return "", err
	}
	return ns.Name, nil
}

// NewNamespace is Namespace for a test, which fails when the namespace cannot be created.
func (e *Env) NewNamespace(t *testing.T) string {
	t.Helper()
	ns, err := e.Namespace(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// Get reads an object through the direct client, as an assertion.
func (e *Env) Get(ctx context.Context, g gomega.Gomega, ns, name string, obj client.Object) {
	g.ExpectWithOffset(1, e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj)).To(gomega.Succeed())
}

// Update changes obj in the API server: mutate is applied to the latest version, again after a
// conflict (the controllers write statuses concurrently). obj holds the result.
func (e *Env) Update(ctx context.Context, g gomega.Gomega, obj client.Object, mutate func()) {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate()
		return e.Client.Update(ctx, obj)
	})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
}

// Eventually retries f until its assertions pass, with the suites' patience.
func Eventually(t *testing.T, f func(g gomega.Gomega)) {
	t.Helper()
	gomega.NewWithT(t).Eventually(f).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(gomega.Succeed())
}

// Ready returns the Ready condition of conds, or an empty one.
func Ready(conds []metav1.Condition) metav1.Condition {
	if c := meta.FindStatusCondition(conds, v1alpha1.ConditionReady); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// repoRoot is the repository's root directory, found from this file's path.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}
