// Package e2e drives the built kwps binary from outside, against a real API server (envtest's
// kube-apiserver and etcd; there is no kubelet or controller-manager, so the test runs the gateway
// processes itself, the way the operator's Deployment would run them):
//
//   - TestOperatorAndGateways: `kwps operator` reconciles config/samples, and two `kwps gateway`
//     processes, authenticated as the gateway ServiceAccount, serve the instance;
//   - TestGatewayContract: one `kwps gateway` against the objects of the operator contract, created by
//     the test (so the gateway's side of the contract is checked on its own);
//   - TestStaticBinary: `make build-static`, which the Dockerfile runs, makes a static binary that runs.
//
// Env: KWPS_BIN (a built kwps; default: `make build-static` into a temporary directory),
// KUBEBUILDER_ASSETS (default: the directory hack/setup-envtest.sh prints, building it if needed).
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

var (
	// repoRoot is the repository (two levels up from this package).
	repoRoot string
	// workDir holds what the package builds and writes; TestMain removes it.
	workDir string

	staticOnce sync.Once
	staticPath string
	staticErr  error
)

// staticVersion is stamped into the static build, so `kwps version` proves which binary ran.
const staticVersion = "e2e-static"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = filepath.Join(wd, "..", "..")
	if workDir, err = os.MkdirTemp("", "kwps-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	// envtest logs through controller-runtime's logger; its start-up lines are of no use here.
	ctrllog.SetLogger(logr.Discard())
	defer stopCluster()
	return m.Run()
}

// staticBinary builds kwps with `make build-static` once per package run.
func staticBinary(t *testing.T) string {
	t.Helper()
	staticOnce.Do(func() {
		staticPath = filepath.Join(workDir, "static", "kwps")
		cmd := exec.Command("make", "-s", "build-static", "KWPS="+staticPath, "VERSION="+staticVersion)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			staticErr = fmt.Errorf("make build-static: %w\n%s", err, out)
		}
	})
	if staticErr != nil {
		t.Fatal(staticErr)
	}
	return staticPath
}

// kwpsBinary is KWPS_BIN, or the static build.
func kwpsBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("KWPS_BIN")
	if bin == "" {
		return staticBinary(t)
	}
	abs, err := filepath.Abs(bin)
	if err == nil {
		_, err = os.Stat(abs)
	}
	if err != nil {
		t.Fatalf("KWPS_BIN: %v (unset it to build kwps from this checkout)", err)
	}
	return abs
}

// hasCommand reports whether bin has the subcommand (its usage lists it).
func hasCommand(bin, name string) bool {
	out, _ := exec.Command(bin, "help").CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return true
		}
	}
	return false
}
