package upstream

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recordingObserver counts what an Observer is told.
type recordingObserver struct {
	mu      sync.Mutex
	done    []EventRecord
	dropped []string
}

func (o *recordingObserver) EventDone(r EventRecord) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done = append(o.done, r)
}

func (o *recordingObserver) EventDropped(hub, event string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dropped = append(o.dropped, hub+"/"+event)
}

func (o *recordingObserver) snapshot() ([]EventRecord, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.done), slices.Clone(o.dropped)
}

func TestAsyncEventsAreOrderedPerConnectionAndIndependentAcrossConnections(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	arrived := map[string][]string{} // connection id -> event names, in arrival order
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		id, ev := r.Header.Get("ce-connectionId"), r.Header.Get("ce-eventName")
		mu.Lock()
		arrived[id] = append(arrived[id], ev)
		mu.Unlock()
		if id == "slow" && ev == "connected" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	c := newTestClient(t, Options{})
	hub := testHub(allEvents(u.URL + "/{event}"))
	events := func(id string) []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(arrived[id])
	}
	slow, fast := testConn(), testConn()
	slow.ConnectionID, fast.ConnectionID = "slow", "fast"

	c.Connected(hub, slow)
	c.Disconnected(hub, slow, "gone")
	c.Connected(hub, fast)
	c.Disconnected(hub, fast, "gone")
	waitFor(t, "the fast connection's events", func() bool { return len(events("fast")) == 2 })
	if got := events("fast"); !slices.Equal(got, []string{"connected", "disconnected"}) {
		t.Errorf("fast connection got %v", got)
	}
	time.Sleep(50 * time.Millisecond)
	if got := events("slow"); !slices.Equal(got, []string{"connected"}) {
		t.Fatalf("slow connection got %v while its connected event was still in flight, want only connected", got)
	}
	if p := c.Stats().Pending; p != 2 {
		t.Errorf("pending = %d, want the slow connection's two events", p)
	}
	close(release)
	waitFor(t, "the slow connection's disconnected", func() bool { return len(events("slow")) == 2 })
	if got := events("slow"); !slices.Equal(got, []string{"connected", "disconnected"}) {
		t.Errorf("slow connection got %v", got)
	}
	waitFor(t, "nothing pending", func() bool { return c.Stats().Pending == 0 })
	if s := c.Stats(); s.Sent != 4 || s.Failed != 0 || s.Dropped != 0 {
		t.Errorf("stats %+v, want 4 sent", s)
	}
}

func TestAsyncRetries(t *testing.T) {
	tests := []struct {
		name         string
		statuses     []int // answers in order; the last one repeats
		wantAttempts int
		wantOK       bool
	}{
		{"503 then success", []int{503, 503, 204}, 3, true},
		{"408 is retried", []int{408, 200}, 2, true},
		{"gives up after 4 attempts", []int{500}, 4, false},
		{"400 is not retried", []int{400}, 1, false},
		{"429 is not retried", []int{429}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				w.WriteHeader(tt.statuses[min(i, len(tt.statuses)-1)])
			})
			obs := &recordingObserver{}
			c := newTestClient(t, Options{Observer: obs})
			c.Disconnected(testHub(allEvents(u.URL)), testConn(), "bye")
			waitFor(t, "the outcome", func() bool { done, _ := obs.snapshot(); return len(done) == 1 })
			done, _ := obs.snapshot()
			if r := done[0]; r.Attempts != tt.wantAttempts || (r.Err == nil) != tt.wantOK || r.Event != "disconnected" || !r.System {
				t.Errorf("record %+v, want %d attempts, ok %v", r, tt.wantAttempts, tt.wantOK)
			}
			reqs := u.requests()
			if len(reqs) != tt.wantAttempts {
				t.Fatalf("%d requests, want %d", len(reqs), tt.wantAttempts)
			}
			for _, r := range reqs {
				if r.Header.Get("ce-id") != "0" || string(r.Body) != `{"reason":"bye"}` {
					t.Errorf("retry changed the event: id %s body %s", r.Header.Get("ce-id"), r.Body)
				}
			}
			if s := c.Stats(); s.Retries != uint64(tt.wantAttempts-1) {
				t.Errorf("retries = %d, want %d", s.Retries, tt.wantAttempts-1)
			}
		})
	}
}

func TestAsyncQueueIsBounded(t *testing.T) {
	release := make(chan struct{})
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	obs := &recordingObserver{}
	logs := &logBuffer{}
	c := newTestClient(t, Options{MaxPendingAsync: 2, Observer: obs, Logger: logs.logger()})
	hub := testHub(allEvents(u.URL))
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		conn := testConn()
		conn.ConnectionID = id
		c.Connected(hub, conn) // never blocks, even though the handler does
	}
	if s := c.Stats(); s.Pending != 2 || s.Dropped != 3 {
		t.Errorf("stats %+v, want 2 pending and 3 dropped", s)
	}
	if _, dropped := obs.snapshot(); len(dropped) != 3 || dropped[0] != "chat/connected" {
		t.Errorf("observer saw drops %v", dropped)
	}
	if !strings.Contains(logs.String(), "too many pending events") {
		t.Errorf("drops not logged: %s", logs)
	}
	close(release)
	waitFor(t, "the pending events", func() bool { return c.Stats().Pending == 0 })
	if s := c.Stats(); s.Sent != 2 {
		t.Errorf("stats %+v, want the 2 pending events sent", s)
	}
	conn := testConn()
	conn.ConnectionID = "f"
	c.Connected(hub, conn) // room again
	waitFor(t, "a new event after the queue drained", func() bool { return c.Stats().Sent == 3 })
}

func TestCloseDrainsThenAborts(t *testing.T) {
	t.Run("drains what it can", func(t *testing.T) {
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(20 * time.Millisecond)
		})
		c := New(Options{Origin: func() string { return testOrigin }})
		hub := testHub(allEvents(u.URL))
		c.Connected(hub, testConn())
		c.Disconnected(hub, testConn(), "bye")
		if err := c.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if s := c.Stats(); s.Sent != 2 || s.Pending != 0 {
			t.Errorf("after Close: %+v, want both events sent", s)
		}
		c.Connected(hub, testConn())
		if _, err := c.UserEvent(t.Context(), hub, testConn(), "message", "", nil); !errors.Is(err, ErrClosed) {
			t.Errorf("UserEvent after Close: %v", err)
		}
		if s := c.Stats(); s.Dropped != 1 {
			t.Errorf("Connected after Close: %+v, want it dropped", s)
		}
	})
	t.Run("aborts a stuck handler when its context ends", func(t *testing.T) {
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		c := New(Options{Origin: func() string { return testOrigin }})
		hub := testHub(allEvents(u.URL))
		c.Connected(hub, testConn())
		c.Disconnected(hub, testConn(), "bye")
		u.next(t)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := c.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close = %v, want the deadline", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Close took %s", d)
		}
		if s := c.Stats(); s.Pending != 0 || s.Failed != 1 || s.Dropped != 1 {
			t.Errorf("after Close: %+v, want the in-flight event failed and the queued one dropped", s)
		}
	})
}
