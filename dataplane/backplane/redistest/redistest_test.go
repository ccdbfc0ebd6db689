package redistest

import (
	"runtime"
	"testing"
)

func TestServerLifecycle(t *testing.T) {
	s := Start(t)
	if !answersPing(t.Context(), s.Addr()) {
		t.Fatal("a started server does not answer PING")
	}
	addr := s.Addr()
	s.Stop()
	if answersPing(t.Context(), addr) {
		t.Fatal("a stopped server still answers PING")
	}
	s.Restart()
	if s.Addr() != addr || !answersPing(t.Context(), addr) {
		t.Fatalf("restarted server: addr %s (was %s), answers %v", s.Addr(), addr, answersPing(t.Context(), addr))
	}
	s.Kill()
	if answersPing(t.Context(), addr) {
		t.Fatal("a killed server still answers PING")
	}
	s.Kill() // idempotent
	s.Stop()
}

func TestStartWithPassword(t *testing.T) {
	s := Start(t, "--requirepass", "s3cret")
	if !answersPing(t.Context(), s.Addr()) {
		t.Fatal("a server with a password does not count as up")
	}
	if got, want := s.URL(), "redis://"+s.Addr(); got != want {
		t.Fatalf("URL() = %q, want %q", got, want)
	}
}

func TestStartFailsOnBadArgument(t *testing.T) {
	ft := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() { // t.Fatal ends the goroutine with runtime.Goexit
		defer close(done)
		Start(ft, "--no-such-option", "x")
	}()
	<-done
	if ft.msg == "" {
		t.Fatal("Start with an invalid redis-server argument did not fail the test")
	}
}

// fatalRecorder records Fatal instead of failing the real test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = format
	runtime.Goexit()
}

func (f *fatalRecorder) Fatal(args ...any) {
	f.msg = "fatal"
	runtime.Goexit()
}
