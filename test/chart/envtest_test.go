package chart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kwps/kwps/api/v1alpha1"
)

// TestMain stops the control plane the envtest tests share, if one was started.
func TestMain(m *testing.M) {
	code := m.Run()
	if controlPlane.env != nil {
		if err := controlPlane.env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "envtest:", err)
		}
	}
	os.Exit(code)
}

// controlPlane is a kube-apiserver and etcd (envtest) with the CRDs of config/crd/bases and minimal
// Prometheus Operator CRDs installed, started by the first test that needs it.
var controlPlane struct {
	once   sync.Once
	env    *envtest.Environment
	client client.Client
	err    error
}

// apiServer returns an administrator's client of the shared control plane.
func apiServer(t *testing.T) (*envtest.Environment, client.Client) {
	t.Helper()
	controlPlane.once.Do(func() {
		controlPlane.env, controlPlane.client, controlPlane.err = startControlPlane()
	})
	if controlPlane.err != nil {
		t.Fatal(controlPlane.err)
	}
	return controlPlane.env, controlPlane.client
}

func startControlPlane() (*envtest.Environment, client.Client, error) {
	root := repoRoot()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		var out, stderr bytes.Buffer
		cmd := exec.Command(filepath.Join(root, "hack", "setup-envtest.sh"))
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			return nil, nil, fmt.Errorf("KUBEBUILDER_ASSETS is unset and hack/setup-envtest.sh failed: %w\n%s", err, stderr.String())
		}
		if err := os.Setenv("KUBEBUILDER_ASSETS", strings.TrimSpace(out.String())); err != nil {
			return nil, nil, err
		}
	}
	scheme := kruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, nil, err
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		CRDs:                  []*apiextensionsv1.CustomResourceDefinition{monitoringCRD("ServiceMonitor"), monitoringCRD("PodMonitor")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("envtest: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("client: %w", err), env.Stop())
	}
	return env, c, nil
}

// monitoringCRD is a stand-in for a Prometheus Operator CRD (monitoring.coreos.com/v1) that accepts
// any spec: it lets the chart's monitors be applied; their content is checked by the tests.
func monitoringCRD(kind string) *apiextensionsv1.CustomResourceDefinition {
	plural := strings.ToLower(kind) + "s"
	preserve := true
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: plural + ".monitoring.coreos.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "monitoring.coreos.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List", Plural: plural, Singular: strings.ToLower(kind)},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", XPreserveUnknownFields: &preserve},
					},
				}},
			}},
		},
	}
}

// ensureNamespaces creates the namespaces the objects live in.
func ensureNamespaces(ctx context.Context, t *testing.T, c client.Client, objs objects) {
	t.Helper()
	seen := map[string]bool{}
	for _, u := range objs {
		ns := u.GetNamespace()
		if ns == "" || seen[ns] {
			continue
		}
		seen[ns] = true
		err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}
