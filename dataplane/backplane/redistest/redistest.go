// Package redistest runs a real redis-server for tests: on a free loopback port, in a temporary
// directory, without persistence, stopped when the test ends.
//
// Example:
//
//	srv := redistest.Start(t)
//	bp, err := backplane.NewRedis(ctx, backplane.RedisOptions{URL: srv.URL()})
//	...
//	srv.Restart() // same port: clients reconnect to it
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds how long a redis-server may take to answer PING after it was started.
const startTimeout = 10 * time.Second

// Server is a redis-server process owned by a test. Its methods are safe for concurrent use.
type Server struct {
	tb   testing.TB
	bin  string
	dir  string
	port int
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{} // closed when cmd has exited
}

// Start runs redis-server on a free loopback port with a temporary directory and no persistence,
// waits until it answers PING, and stops it when the test ends. args are extra redis-server
// arguments, for example "--requirepass", "secret". It fails the test if redis-server is missing.
func Start(tb testing.TB, args ...string) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatal("redis-server not found: run make test-deps")
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir(), args: args}
	tb.Cleanup(s.Kill)
	// A free port can be taken between probing and binding; try a few.
	var lastErr error
	for range 5 {
		if s.port, lastErr = freePort(tb.Context()); lastErr != nil {
			continue
		}
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	tb.Fatalf("redistest: start redis-server: %v", lastErr)
	return nil
}

// URL is the server's address as a redis:// URL (without a password).
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Stop shuts the server down gracefully (SIGTERM) and waits for it to exit. It does nothing if the
// server is not running.
func (s *Server) Stop() { s.signal(os.Interrupt) }

// Kill stops the server at once (SIGKILL), as a crash would. It does nothing if the server is not
// running.
func (s *Server) Kill() { s.signal(os.Kill) }

// Restart stops the server if it runs and starts it again on the same port, with no data.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	// The port was ours a moment ago; another process could take it, but only by chance.
	if err := s.start(); err != nil {
		s.tb.Fatalf("redistest: restart redis-server: %v", err)
	}
}

func (s *Server) signal(sig os.Signal) {
	s.mu.Lock()
	cmd, exit := s.cmd, s.exit
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exit:
	case <-time.After(startTimeout):
		_ = cmd.Process.Kill()
		<-exit
	}
}

// start runs redis-server on s.port and waits until it answers PING.
func (s *Server) start() error {
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--protected-mode", "no",
		"--loglevel", "warning",
		"--logfile", "",
	}
	args = append(args, s.args...)
	cmd := exec.CommandContext(s.tb.Context(), s.bin, args...) // killed when the test ends at the latest
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	exit := make(chan struct{})
	go func() { // exits with the process
		_ = cmd.Wait()
		close(exit)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		if answersPing(s.tb.Context(), s.Addr()) {
			s.mu.Lock()
			s.cmd, s.exit = cmd, exit
			s.mu.Unlock()
			return nil
		}
		select {
		case <-exit:
			return fmt.Errorf("redis-server exited: %s", lastLine(out.String()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exit
			return fmt.Errorf("redis-server did not answer PING within %s: %s", startTimeout, lastLine(out.String()))
		}
	}
}

// answersPing reports whether a Redis server answers at addr. A server that requires a password
// answers -NOAUTH, which counts: it is up.
func answersPing(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReaderSize(c, 256).ReadString('\n')
	if err != nil {
		return false
	}
	return line == "+PONG\r\n" || strings.HasPrefix(line, "-NOAUTH")
}

func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lastLine is the end of redis-server's output, which says why it failed to start.
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return "no output"
	}
	return s
}
