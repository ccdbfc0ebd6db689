// Package bench holds the kwps benchmark suite (cmd/kwps-bench and its packages under internal/). Its
// test runs the suite's smoke: every scenario, tiny, against every system, so that CI proves the tool
// works without timing anything.
package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// smokeTimeout bounds the smoke run itself (it takes about ten seconds; builds are not counted).
const smokeTimeout = 3 * time.Minute

func TestSmoke(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("the benchmark reads memory from /proc: Linux only")
	}
	dir := t.TempDir()
	kwps := os.Getenv("KWPS_BIN")
	if kwps == "" {
		kwps = goBuild(t, filepath.Join("..", ".."), ".", filepath.Join(dir, "kwps"))
	}
	tool := goBuild(t, ".", "./cmd/kwps-bench", filepath.Join(dir, "kwps-bench"))
	out := filepath.Join(dir, "RESULTS.md")

	ctx, cancel := context.WithTimeout(t.Context(), smokeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, "-smoke", "-kwps", kwps, "-out", out,
		"-peer-src", filepath.Join("..", "..", "..", "shared", "bench", "centrifuge-peer"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("kwps-bench -smoke: %v\n%s", err, stderr.String())
	}
	written, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(written) != string(stdout) {
		t.Errorf("-out file differs from what was printed")
	}
	table := string(stdout)
	t.Logf("smoke report:\n%s", table)

	peerRan := !strings.Contains(table, "the Centrifuge peer did not run")
	redisRan := !strings.Contains(table, "redis-server is not installed")
	for _, c := range []struct {
		scenario string
		systems  []string
		skipped  bool
	}{
		{"S1 idle", []string{"kwps", "centrifuge", "bare"}, false},
		{"S2 echo via upstream", []string{"kwps", "bare"}, false},
		{"S2 echo via group of one", []string{"kwps", "centrifuge", "bare"}, false},
		{"S3 big group 2 x 50, sendToGroup", []string{"kwps", "centrifuge", "bare"}, false},
		{"S3 big group 1 x 100, REST", []string{"kwps"}, false},
		{"S4 small groups 20 x 5, 2,048 B", []string{"kwps", "centrifuge", "bare"}, false},
		{"S4 small groups 20 x 5, 64 B", []string{"kwps", "centrifuge", "bare"}, false},
		{"S5 3 processes on Redis, big group", []string{"kwps", "centrifuge"}, !redisRan},
		{"S5 3 processes on Redis, small groups", []string{"kwps", "centrifuge"}, !redisRan},
		{"S6 slow consumers", []string{"kwps", "centrifuge", "bare"}, false},
		{"S6 connect churn", []string{"kwps", "centrifuge", "bare"}, false},
	} {
		for _, sys := range c.systems {
			if c.skipped || (sys == "centrifuge" && !peerRan) {
				continue
			}
			if !hasValue(table, c.scenario, sys) {
				t.Errorf("no measured row for %q on %s", c.scenario, sys)
			}
		}
	}
	if strings.Contains(table, "| error: ") {
		t.Errorf("the report has failed runs (error: rows)")
	}
}

// hasValue reports whether a row of scenario (a prefix) for system carries a value (not "-").
func hasValue(table, scenario, system string) bool {
	for line := range strings.SplitSeq(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 {
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(cells[1]), scenario) && strings.TrimSpace(cells[2]) == system &&
			strings.TrimSpace(cells[4]) != "-" {
			return true
		}
	}
	return false
}

// goBuild builds pkg (relative to dir) into out.
func goBuild(t *testing.T, dir, pkg, out string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}
