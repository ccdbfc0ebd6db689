package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kwps/kwps/api/v1alpha1"
)

// cluster is the package's one API server, started on first use.
type cluster struct {
	env   *envtest.Environment
	cfg   *rest.Config
	kube  kubernetes.Interface // as cluster admin
	ctrl  client.Client        // as cluster admin, with the kwps types
	start time.Duration
}

var (
	clusterOnce sync.Once
	theCluster  *cluster
	clusterErr  error
)

// apiServer returns the shared API server, starting it first if needed.
func apiServer(t *testing.T) *cluster {
	t.Helper()
	clusterOnce.Do(func() { theCluster, clusterErr = startCluster() })
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return theCluster
}

func startCluster() (*cluster, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		// Prints the cached directory at once, or builds the binaries (minutes, once per machine).
		out, err := exec.Command(filepath.Join(repoRoot, "hack", "setup-envtest.sh")).Output()
		if err != nil {
			return nil, fmt.Errorf("KUBEBUILDER_ASSETS is not set and hack/setup-envtest.sh failed: %w", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		assets = lines[len(lines)-1]
	}
	began := time.Now()
	env := &envtest.Environment{
		CRDDirectoryPaths:        []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("envtest (assets %s): %w", assets, err)
	}
	c := &cluster{env: env, cfg: cfg, start: time.Since(began)}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if c.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.ctrl, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	return c, nil
}

func stopCluster() {
	if theCluster != nil {
		_ = theCluster.env.Stop()
	}
}

// namespace creates a namespace for one test ("default" exists already).
func (c *cluster) namespace(t *testing.T, name string) {
	t.Helper()
	if name == "default" {
		return
	}
	_, err := c.kube.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// userKubeconfig writes a kubeconfig that authenticates as user (with a client certificate), in no
// group: the user holds only what RBAC bindings grant it.
func (c *cluster) userKubeconfig(t *testing.T, user string) string {
	t.Helper()
	u, err := c.env.AddUser(envtest.User{Name: user}, c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := u.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), user+".kubeconfig")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// apiAddr is the API server's host:port.
func (c *cluster) apiAddr(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(c.cfg.Host)
	if err != nil || u.Host == "" {
		return c.cfg.Host // envtest gives a bare host:port
	}
	return u.Host
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates as a ServiceAccount, with a token
// from the TokenRequest API (what the kubelet projects into a pod), so that the process holds exactly
// the permissions of the account's Roles. via, if set, is the host:port to reach the API server at
// (a proxy); the server's certificate is valid for any port on 127.0.0.1.
func (c *cluster) serviceAccountKubeconfig(t *testing.T, namespace, name, via string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	expiry := int64(3600)
	tr, err := c.kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for ServiceAccount %s/%s: %v", namespace, name, err)
	}
	host := "https://" + c.apiAddr(t)
	if via != "" {
		host = "https://" + via
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: host, CertificateAuthorityData: c.cfg.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["sa"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: name, Namespace: namespace}
	kc.CurrentContext = "sa"
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}
