// Package chart tests the Helm chart in charts/kwps from outside, with the pinned helm CLI: lint and
// render it with its default values and with testdata/custom-values.yaml, check that values.schema.json
// refuses bad values, that its CRDs and RBAC are those `make manifests` generates, and apply what it
// renders to a real API server (envtest) with server-side apply.
//
// helm is $HELM, else bin/helm-$(HELM_VERSION), which the Makefile builds with `go install` when it is
// missing (a few minutes the first time).
package chart

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// kubeVersion is the Kubernetes version the chart is rendered for: that of the envtest API server
// (hack/setup-envtest.sh's KUBE_VERSION) the rendered objects are applied to. A helm built with
// `go install` would otherwise assume v1.20, which the chart's kubeVersion refuses.
const kubeVersion = "1.37.2"

// customValues turns on every optional part of the chart and changes every default.
const customValues = "testdata/custom-values.yaml"

// release is one way of installing the chart.
type release struct {
	name, namespace string
	// values are values files, relative to this directory.
	values []string
	// set are --set arguments.
	set []string
}

var (
	defaultRelease = release{name: "kwps", namespace: "kwps-system"}
	customRelease  = release{name: "pubsub", namespace: "realtime", values: []string{customValues}}
)

func (r release) String() string {
	if len(r.values) == 0 && len(r.set) == 0 {
		return "default values"
	}
	return strings.Join(append(append([]string{}, r.values...), r.set...), ",")
}

// args are the values arguments of helm lint and helm template.
func (r release) args() []string {
	var args []string
	for _, v := range r.values {
		args = append(args, "--values", v)
	}
	for _, s := range r.set {
		args = append(args, "--set", s)
	}
	return args
}

// repoRoot is the repository's root directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func chartDir() string { return filepath.Join(repoRoot(), "charts", "kwps") }

var helmBin struct {
	once sync.Once
	path string
	err  error
}

// helmPath returns the pinned helm, building it through the Makefile when it is missing.
func helmPath(t *testing.T) string {
	t.Helper()
	helmBin.once.Do(func() {
		if p := os.Getenv("HELM"); p != "" {
			helmBin.path = p
			return
		}
		root := repoRoot()
		makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
		if err != nil {
			helmBin.err = err
			return
		}
		m := regexp.MustCompile(`(?m)^HELM_VERSION\s*\?=\s*(\S+)`).FindSubmatch(makefile)
		if m == nil {
			helmBin.err = errors.New("no HELM_VERSION in the Makefile")
			return
		}
		path := filepath.Join(root, "bin", "helm-"+string(m[1]))
		if _, err := os.Stat(path); err != nil {
			out, err := exec.Command("make", "-C", root, path).CombinedOutput()
			if err != nil {
				helmBin.err = fmt.Errorf("make %s: %w\n%s", path, err, out)
				return
			}
		}
		helmBin.path = path
	})
	if helmBin.err != nil {
		t.Fatal(helmBin.err)
	}
	return helmBin.path
}

// helm runs helm in this directory and returns its stdout; the error holds its stderr.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), helmPath(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// No user configuration, cache or plugins: the tests see the chart only.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// template runs helm template for r.
func template(t *testing.T, r release) (string, error) {
	t.Helper()
	args := append([]string{"template", r.name, chartDir(), "--namespace", r.namespace, "--kube-version", kubeVersion}, r.args()...)
	return helm(t, args...)
}

// render renders r into objects, failing the test if helm fails.
func render(t *testing.T, r release) objects {
	t.Helper()
	out, err := template(t, r)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decode(out)
	if err != nil {
		t.Fatalf("rendered %s: %v", r, err)
	}
	return objs
}

// decode splits a multi-document YAML stream into objects, skipping empty documents.
func decode(stream string) (objects, error) {
	d := yaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	var objs objects
	for {
		u := &unstructured.Unstructured{}
		err := d.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(u.Object) == 0 {
			continue
		}
		if u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("a document without kind or name: %v", u.Object)
		}
		objs = append(objs, u)
	}
}
