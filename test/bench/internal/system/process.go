// Package system starts the systems under test (kwps, the Centrifuge peer, the bare baseline, and the
// Redis they scale out on) as processes pinned to the server CPU, and dials their clients: each system
// speaks its own protocol, and the scenarios see one interface, System.
package system

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopTimeout is how long a process may take to exit after SIGTERM before it is killed.
const stopTimeout = 5 * time.Second

// Launch describes a process to start.
type Launch struct {
	// Name names the process in errors and its log file.
	Name string
	// Argv is the command and its arguments.
	Argv []string
	// Env is added to this process's environment.
	Env []string
	// CPU, when not empty, pins the process with `taskset -c CPU`.
	CPU string
	// LogDir receives the process's stderr as Name.log.
	LogDir string
}

// Process is a running server process. Stop it when done.
type Process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	lines   chan string   // stdout lines, as long as someone reads them
	exited  chan struct{} // closed when the process has exited
	mu      sync.Mutex
	waitErr error
}

// Start starts l. The process gets SIGTERM when ctx ends (SIGKILL stopTimeout later), and SIGKILL if
// this one dies, so nothing outlives an interrupted or crashed benchmark.
func Start(ctx context.Context, l Launch) (*Process, error) {
	argv := l.Argv
	if l.CPU != "" {
		argv = append([]string{"taskset", "-c", l.CPU}, argv...)
	}
	logPath := filepath.Join(l.LogDir, l.Name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopTimeout
	cmd.Env = append(os.Environ(), l.Env...)
	cmd.Stderr = logFile
	cmd.SysProcAttr = dieWithParent()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", l.Name, err)
	}
	logFile.Close() // the child has its own descriptor
	p := &Process{name: l.Name, cmd: cmd, logPath: logPath, lines: make(chan string, 16), exited: make(chan struct{})}
	go func() { // exits at the end of the child's stdout
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 4096), 64<<10)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default: // nobody is waiting for more output
			}
		}
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.exited)
	}()
	return p, nil
}

// Name is the process's name.
func (p *Process) Name() string { return p.name }

// PID is the process ID of the server (taskset replaces itself with it).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// WaitLine returns the rest of the first stdout line that starts with prefix.
func (p *Process) WaitLine(prefix string, timeout time.Duration) (string, error) {
	deadline := time.After(timeout)
	for {
		select {
		case line := <-p.lines:
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				return rest, nil
			}
		case <-p.exited:
			return "", p.failure("exited before printing " + strconv.Quote(prefix))
		case <-deadline:
			return "", p.failure(fmt.Sprintf("printed no %q within %s", prefix, timeout))
		}
	}
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// failure is an error about the process with the end of its log, which says why it failed.
func (p *Process) failure(what string) error {
	return fmt.Errorf("%s %s; last log lines:\n%s", p.name, what, p.LogTail(2048))
}

// LogTail returns up to n bytes of the end of the process's stderr.
func (p *Process) LogTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// RSS is the process's resident set size in bytes (VmRSS of /proc/<pid>/status).
func (p *Process) RSS() (int64, error) { return RSS(p.PID()) }

// RSS reads the resident set size of pid from /proc.
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "12345 kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
}

// Stop asks the process to exit (SIGTERM), kills it after stopTimeout, and waits for it.
func (p *Process) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// Alive reports whether the process is still running.
func (p *Process) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stopAll stops the processes one after another.
func stopAll(ps []*Process) {
	for _, p := range ps {
		p.Stop()
	}
}

// waitReady polls check every 20 ms until it succeeds, ctx ends, or timeout passes.
func waitReady(ctx context.Context, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready within %s: %w", timeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
