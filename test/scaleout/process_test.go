package scaleout

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kwps/kwps/dataplane/auth"
)

// Bounds of a kwps process's start: it prints Endpoint= once Redis answered and it listens.
const (
	startTimeout  = 20 * time.Second
	startAttempts = 3
	// logTail is how much of a process's log a failing test prints.
	logTail = 16 << 10
)

// node is one `kwps serve --redis` process, in a process group of its own.
type node struct {
	name     string
	endpoint *url.URL // public: clients and REST
	admin    string   // host:port of /healthz, /readyz, /metrics
	logPath  string

	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
}

// startNode runs `kwps serve` on a free public port and the free admin port it picks, joined to
// redisURL, with key as the access key. The process is killed when the test ends.
func startNode(tb testing.TB, name, redisURL, key, logDir string) *node {
	tb.Helper()
	bin := kwpsBinary(tb)
	var lastErr error
	for attempt := range startAttempts {
		port, err := freePort()
		if err != nil {
			tb.Fatal(err)
		}
		n := &node{
			name:    name,
			admin:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			logPath: filepath.Join(logDir, fmt.Sprintf("%s-%d.log", name, attempt)),
		}
		lastErr = n.start(bin, redisURL, key)
		if lastErr == nil {
			tb.Cleanup(func() {
				n.kill()
				if crash := n.crash(); crash != "" {
					tb.Errorf("kwps %s: %s (log: %s)", n.name, crash, n.logPath)
				}
				if tb.Failed() {
					tb.Logf("--- kwps %s log (%s) ---\n%s", n.name, n.logPath, n.logTail())
				}
			})
			return n
		}
		// The admin port we picked may have been taken before kwps bound it; pick another.
		if !strings.Contains(lastErr.Error(), "address already in use") {
			break
		}
	}
	tb.Fatalf("start kwps %s: %v", name, lastErr)
	return nil
}

func (n *node) start(bin, redisURL, key string) error {
	logFile, err := os.Create(n.logPath)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own descriptor
	out := &endpointWriter{found: make(chan string, 1)}
	cmd := exec.Command(bin, "serve",
		"--listen", "127.0.0.1:0",
		"--admin-listen", n.admin,
		"--redis", redisURL)
	cmd.Env = append(environWithout("KWPS_"), "KWPS_ACCESS_KEY="+key)
	cmd.Stdout, cmd.Stderr = out, logFile
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	go func() { // ends with the process, which the test's cleanup kills
		_ = cmd.Wait()
		close(n.exited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case line := <-out.found:
		cs, err := auth.ParseConnectionString(line)
		if err != nil {
			n.kill()
			return fmt.Errorf("the Endpoint= line does not parse: %w", err)
		}
		n.endpoint = cs.Endpoint
		return nil
	case <-n.exited:
		return fmt.Errorf("kwps exited before printing Endpoint=: %s", lastLines(n.logTail(), 3))
	case <-timer.C:
		n.kill()
		return fmt.Errorf("no Endpoint= line within %s: %s", startTimeout, lastLines(n.logTail(), 3))
	}
}

// kill ends the process group at once (SIGKILL, as kill -9) and waits for the process to exit.
func (n *node) kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	killProcessGroup(n.cmd)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
	}
}

// logTail returns the end of the process's log.
func (n *node) logTail() string {
	data, err := os.ReadFile(n.logPath)
	if err != nil {
		return err.Error()
	}
	if len(data) > logTail {
		data = data[len(data)-logTail:]
	}
	return string(data)
}

// crash returns the first line of the log that reports a Go panic, a fatal error, or (in a binary
// built with -race, see KWPS_BIN) a data race; "" when there is none.
func (n *node) crash() string {
	f, err := os.Open(n.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, prefix := range []string{"panic: ", "fatal error: ", "WARNING: DATA RACE"} {
			if strings.HasPrefix(line, prefix) {
				return line
			}
		}
	}
	return ""
}

// endpointWriter watches kwps's stdout for the Endpoint= line; everything else is discarded. It keeps
// at most one line of 4 KiB.
type endpointWriter struct {
	mu    sync.Mutex
	line  []byte
	done  bool
	found chan string
}

func (w *endpointWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range p {
		if w.done {
			break
		}
		if b != '\n' {
			if len(w.line) < 4<<10 {
				w.line = append(w.line, b)
			}
			continue
		}
		if line := string(bytes.TrimSpace(w.line)); strings.HasPrefix(line, "Endpoint=") {
			w.done = true
			w.found <- line
		}
		w.line = w.line[:0]
	}
	return len(p), nil
}

// environWithout is the environment minus the variables whose names start with prefix, so that a
// developer's KWPS_REDIS_URL or KWPS_SECONDARY_KEY cannot change what the tests run.
func environWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
