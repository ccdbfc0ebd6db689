package chart

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kwpsBinary is $KWPS_BIN (set by `make test`), else kwps built from this checkout.
func kwpsBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("KWPS_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "kwps")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("KWPS_BIN is unset and go build failed: %v\n%s", err, out)
	}
	return bin
}

// TestOperatorTakesTheRenderedArgs: `kwps operator` accepts the arguments the chart gives it, flags
// and values alike: with a kubeconfig that does not exist, it gets as far as reading it.
func TestOperatorTakesTheRenderedArgs(t *testing.T) {
	bin := kwpsBinary(t)
	for _, r := range []release{defaultRelease, customRelease} {
		t.Run(r.String(), func(t *testing.T) {
			_, c := operatorContainer(t, render(t, r))
			missing := filepath.Join(t.TempDir(), "missing-kubeconfig")
			cmd := exec.CommandContext(t.Context(), bin, append(c.Args, "--kubeconfig="+missing)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if err == nil || !strings.Contains(stderr.String(), "--kubeconfig "+missing) {
				t.Errorf("kwps %s: %v, want it to stop at the missing kubeconfig; stderr:\n%s", strings.Join(c.Args, " "), err, stderr.String())
			}
		})
	}
}
