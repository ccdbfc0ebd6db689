package upstream

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/hubconfig"
)

// Keys of the signature test vector in PROTOCOL.md §6.1.
const (
	testPrimaryKey   = "7aab239577fd4f24bc919802fb629f5f"
	testSecondaryKey = "a5f2815d0d0c4b00bd27e832432f91ab"
	testConnID       = "0f9c97a2f0bf4706afe87a14e0797b11"
	testOrigin       = "kwps.example.com"
)

// testTime is the fixed clock of test clients.
var testTime = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

// recorded is one request an upstream received.
type recorded struct {
	Method string
	Path   string
	Query  map[string][]string
	Header http.Header
	Body   []byte
}

// upstream is a loopback event handler that records every request before calling its handler.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
	got  chan recorded
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{got: make(chan recorded, 1024)}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
		u.mu.Lock()
		u.reqs = append(u.reqs, rec)
		u.mu.Unlock()
		select {
		case u.got <- rec:
		default:
		}
		if h != nil {
			h(w, r)
		} else {
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

// requests returns a copy of what was received so far.
func (u *upstream) requests() []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]recorded(nil), u.reqs...)
}

// next waits for the next recorded request.
func (u *upstream) next(t *testing.T) recorded {
	t.Helper()
	select {
	case r := <-u.got:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no request reached the upstream")
		return recorded{}
	}
}

// testHub returns a ready hub "chat" with the given handlers.
func testHub(handlers ...hubconfig.EventHandler) *hubconfig.Hub {
	h := hubconfig.Default("chat")
	h.EventHandlers = handlers
	h.Normalize()
	return h
}

// allEvents is a handler of every event at url.
func allEvents(url string) hubconfig.EventHandler {
	return hubconfig.EventHandler{
		URLTemplate:      url,
		UserEventPattern: "*",
		SystemEvents:     []string{"connect", "connected", "disconnected"},
	}
}

// newTestClient returns a client signing with the test vector keys, with a fixed clock and fast
// retries, closed when the test ends.
func newTestClient(t *testing.T, o Options) *Client {
	t.Helper()
	if o.Keys == nil {
		o.Keys = auth.NewKeySet(testPrimaryKey, testSecondaryKey)
	}
	if o.Origin == nil {
		o.Origin = func() string { return testOrigin }
	}
	c := New(o)
	c.now = func() time.Time { return testTime }
	c.retryDelays = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 5*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// testConn is a connection of hub chat whose event ids count from 0.
func testConn() Conn {
	var mu sync.Mutex
	var next uint64
	return Conn{
		Hub: "Chat", ConnectionID: testConnID, UserID: "user1",
		EventID: func() uint64 {
			mu.Lock()
			defer mu.Unlock()
			id := next
			next++
			return id
		},
	}
}

// logBuffer is a concurrency-safe slog destination.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
