// Package compat runs the compatibility suite: the official Azure Web PubSub npm packages
// (@azure/web-pubsub, @azure/web-pubsub-client, @azure/web-pubsub-express) driving a real `kwps serve`,
// so that `go test ./...` proves apps work against kwps with only the connection string changed. The
// suite itself is the *.test.mjs files next to this one, run with `node --test`.
package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Bounds of one test file's run: node's own per-test timeout, and the whole file (kwps and node
// startup included). The suite takes seconds; these only stop a hang.
const (
	perTestTimeout = 30 * time.Second
	perFileTimeout = 2 * time.Minute
	// maxOutput bounds how much of node's output is kept for the failure message.
	maxOutput = 256 << 10
)

func TestCompat(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the compatibility suite runs the official Azure Web PubSub npm packages on Node.js 20 or later")
	}
	checkNodeVersion(t, node)
	checkNodeModules(t)
	bin := os.Getenv("KWPS_BIN")
	if bin == "" {
		bin = buildKwps(t)
	} else if _, err := os.Stat(bin); err != nil {
		t.Fatalf("KWPS_BIN: %v (unset it to build kwps from this checkout)", err)
	} else if bin, err = filepath.Abs(bin); err != nil {
		t.Fatal(err)
	}
	logs := t.TempDir()

	files, err := filepath.Glob("*.test.mjs")
	if err != nil || len(files) == 0 {
		t.Fatalf("no *.test.mjs files in test/compat (%v)", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(file, ".test.mjs"), func(t *testing.T) {
			runNodeTest(t, node, file, bin, filepath.Join(logs, strings.TrimSuffix(file, ".test.mjs")))
		})
	}
}

// runNodeTest runs one test file with node's test runner and fails with node's output (and kwps's
// logs) when it does.
func runNodeTest(t *testing.T, node, file, bin, logDir string) {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), perFileTimeout)
	defer cancel()
	// --test-force-exit: @azure/web-pubsub-client keeps keepalive timers pending for up to 40 s after
	// stop(); the file is done when its tests are.
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "--test-force-exit",
		"--test-timeout="+strconv.Itoa(int(perTestTimeout.Milliseconds())), file)
	// TMPDIR: the manifests lib/kwps.mjs writes go where `go test` cleans up, even after a kill.
	cmd.Env = append(os.Environ(), "KWPS_BIN="+bin, "KWPS_COMPAT_LOG_DIR="+logDir, "TMPDIR="+t.TempDir(), "NO_COLOR=1")
	out := &tailBuffer{max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	ownProcessGroup(cmd)
	start := time.Now()
	err := cmd.Run()
	// Whatever node left behind (a kwps it could not stop) goes with it.
	killProcessGroup(cmd)
	if err == nil {
		t.Logf("%s passed in %s\n%s", file, time.Since(start).Round(time.Millisecond), out)
		return
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w: killed after %s", err, perFileTimeout)
	}
	t.Errorf("node --test %s: %v\n--- node output ---\n%s%s", file, err, out, kwpsLogs(logDir))
}

// checkNodeVersion fails on a node older than the suite needs: 20.14 has node:test's --test-force-exit.
func checkNodeVersion(t *testing.T, node string) {
	out, err := exec.CommandContext(t.Context(), node, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	v := strings.TrimSpace(string(out))
	var major, minor int
	if _, err := fmt.Sscanf(v, "v%d.%d", &major, &minor); err != nil || major < 20 || (major == 20 && minor < 14) {
		t.Fatalf("node %s is too old: the compatibility suite needs Node.js 20.14 or later", v)
	}
}

// checkNodeModules fails unless `npm ci` installed exactly what package-lock.json pins.
func checkNodeModules(t *testing.T) {
	const hint = "run `make test-deps` (it runs npm ci in test/compat)"
	installed, err := lockPackages(filepath.Join("node_modules", ".package-lock.json"))
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("test/compat/node_modules is missing: %s", hint)
	}
	if err != nil {
		t.Fatalf("reading what npm installed: %v; %s", err, hint)
	}
	locked, err := lockPackages("package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	delete(locked, "") // the project itself, which the installed lock file leaves out
	if !reflect.DeepEqual(installed, locked) {
		t.Fatalf("test/compat/node_modules does not match package-lock.json: %s", hint)
	}
}

func lockPackages(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var lock struct {
		Packages map[string]any `json:"packages"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return lock.Packages, nil
}

// buildKwps builds the binary under test from this checkout.
func buildKwps(t *testing.T) string {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("KWPS_BIN is not set and there is no go command to build kwps with")
	}
	bin := filepath.Join(t.TempDir(), "kwps")
	cmd := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build kwps: %v\n%s", err, out)
	}
	return bin
}

// kwpsLogs returns the tail of each kwps log the test file wrote (lib/kwps.mjs, KWPS_COMPAT_LOG_DIR).
func kwpsLogs(dir string) string {
	const tail = 16 << 10
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil || len(data) == 0 {
			continue
		}
		if len(data) > tail {
			data = data[len(data)-tail:]
		}
		fmt.Fprintf(&b, "--- %s (last %d bytes) ---\n%s", filepath.Base(f), len(data), data)
	}
	return b.String()
}

// tailBuffer keeps the last max bytes written to it. Node writes from one process through two pipes,
// which exec copies into it from two goroutines; os/exec serializes writes to a shared writer only when
// Stdout and Stderr are the same value, as here.
type tailBuffer struct {
	buf     bytes.Buffer
	max     int
	dropped int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
		b.dropped += over
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	if b.dropped > 0 {
		return fmt.Sprintf("[%d earlier bytes dropped]\n%s", b.dropped, b.buf.String())
	}
	return b.buf.String()
}
