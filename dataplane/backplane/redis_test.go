package backplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kwps/kwps/dataplane/backplane/redistest"
)

// newRedis joins a process to srv with test defaults and closes it at the end of the test.
func newRedis(t testing.TB, url string, o RedisOptions) *Redis {
	t.Helper()
	o.URL = url
	if o.Logger == nil {
		o.Logger = quietLogger
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	r, err := NewRedis(ctx, o)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// rawClient talks to srv directly, around the backplane.
func rawClient(t testing.TB, srv *redistest.Server) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestRedisOutage stops Redis under two processes: Ready fails at once, Send drops without
// blocking, and after a restart both recover by themselves with their subscriptions, including one
// made during the outage.
func TestRedisOutage(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(*redistest.Server)
	}{
		{"shutdown", (*redistest.Server).Stop},
		{"crash", (*redistest.Server).Kill},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			a := newRedis(t, srv.URL(), RedisOptions{ID: "a"})
			b := newRedis(t, srv.URL(), RedisOptions{ID: "b"})
			rec := newRecorder()
			b.SetHandler(rec.handle)
			b.Subscribe("x")
			waitReceivers(t, a, "x", 1)

			tc.stop(srv)
			stopped := time.Now()
			eventually(t, "Ready reports the outage", func() bool { return errors.Is(a.Ready(), ErrUnavailable) })
			if d := time.Since(stopped); d > 2*time.Second {
				t.Errorf("Ready failed %s after Redis stopped, want within 2s", d)
			}
			if s := a.Stats(); s.Connected {
				t.Errorf("Stats.Connected during the outage")
			}

			before := a.Stats().DroppedOut
			start := time.Now()
			const sends = 10000
			for range sends {
				a.Send("x", []byte("lost"))
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("%d Sends took %s while Redis was down", sends, d)
			}
			if got := a.Stats().DroppedOut - before; got != sends {
				t.Errorf("DroppedOut grew by %d, want %d", got, sends)
			}
			start = time.Now()
			if _, err := a.Publish(t.Context(), "x", []byte("lost")); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Publish during the outage: %v, want ErrUnavailable", err)
			}
			if _, _, err := a.Request(t.Context(), "x", []byte("lost")); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Request during the outage: %v, want ErrUnavailable", err)
			}
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Errorf("Publish and Request took %s to fail while Redis was down", d)
			}
			b.Subscribe("y") // while down: applied once Redis is back

			srv.Restart()
			eventually(t, "both are ready again", func() bool { return a.Ready() == nil && b.Ready() == nil })
			for _, bp := range []*Redis{a, b} {
				if s := bp.Stats(); s.Reconnects == 0 || !s.Connected {
					t.Errorf("%s: Stats after recovery %+v, want Reconnects > 0 and Connected", bp.ID(), s)
				}
			}
			waitReceivers(t, a, "x", 1)
			waitReceivers(t, a, "y", 1)
			a.Send("x", []byte("after"))
			a.Send("y", []byte("after"))
			got := rec.wait(t, 2)
			slices.Sort(got)
			if want := []string{"x after", "y after"}; !slices.Equal(got, want) {
				t.Fatalf("after the restart b received %q, want %q", got, want)
			}
		})
	}
}

// TestRedisHalfOpen blackholes the connections to Redis without closing them, as a lost network
// does: no error arrives, only silence. The backplane notices within a few ping intervals, replaces
// its connections, and keeps its subscriptions.
func TestRedisHalfOpen(t *testing.T) {
	srv := redistest.Start(t)
	px := newProxy(t, srv.Addr())
	const ping = 200 * time.Millisecond
	a := newRedis(t, srv.URL(), RedisOptions{ID: "a", PingInterval: ping})
	b := newRedis(t, "redis://"+px.addr(), RedisOptions{ID: "b", PingInterval: ping})
	rec := newRecorder()
	b.SetHandler(rec.handle)
	b.Subscribe("x")
	waitReceivers(t, a, "x", 1)

	rec.reply = replyID("b")
	raw := rawClient(t, srv)

	px.blackhole()
	eventually(t, "Ready reports the silent connection", func() bool { return errors.Is(b.Ready(), ErrUnavailable) })
	// Messages sent before b notices are lost (at most once); the subscription comes back.
	eventually(t, "messages reach b again", func() bool {
		a.Send("x", []byte("after"))
		time.Sleep(20 * time.Millisecond)
		return len(rec.messages()) > 0
	})
	if s := b.Stats(); s.Reconnects == 0 || b.Ready() != nil {
		t.Errorf("Stats after recovery %+v, Ready %v; want Reconnects > 0, ready", s, b.Ready())
	}
	// The silent connection's subscription goes from Redis too, so that b counts once.
	eventually(t, "Redis forgets the silent connection", func() bool {
		return raw.PubSubNumSub(t.Context(), "kwps:x").Val()["kwps:x"] == 1
	})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if replies, n, err := a.Request(ctx, "x", []byte("who")); err != nil || n != 1 || len(replies) != 1 {
		t.Fatalf("Request after the recovery: %d replies, %d receivers, %v", len(replies), n, err)
	}
}

func TestRedisPrefixesIsolate(t *testing.T) {
	srv := redistest.Start(t)
	a1 := newRedis(t, srv.URL(), RedisOptions{Prefix: "one:", ID: "a"})
	b1 := newRedis(t, srv.URL(), RedisOptions{Prefix: "one:", ID: "b"})
	a2 := newRedis(t, srv.URL(), RedisOptions{Prefix: "two:", ID: "a"}) // same ID, other instance
	rec := newRecorder()
	a2.SetHandler(rec.handle)
	a2.Subscribe("x")
	a1.Subscribe("x")
	waitReceivers(t, b1, "x", 1)
	b1.Send("x", []byte("for one"))
	time.Sleep(100 * time.Millisecond)
	if got := rec.messages(); len(got) != 0 {
		t.Fatalf("a process of another prefix received %q", got)
	}
}

func TestRedisOptionsErrors(t *testing.T) {
	const secret = "pw-do-not-leak"
	for _, tc := range []struct {
		name string
		opts RedisOptions
	}{
		{"no URL", RedisOptions{}},
		{"wrong scheme", RedisOptions{URL: "http://:" + secret + "@localhost:6379"}},
		{"unix socket", RedisOptions{URL: "unix://:" + secret + "@/tmp/redis.sock"}},
		{"no host", RedisOptions{URL: "redis://"}},
		{"unparseable", RedisOptions{URL: "redis://:" + secret + "@host:port:x"}},
		{"bad database", RedisOptions{URL: "redis://:" + secret + "@localhost:6379/db"}},
		{"unknown option", RedisOptions{URL: "redis://:" + secret + "@localhost:6379?bogus=" + secret}},
		{"ID with a colon", RedisOptions{URL: "redis://localhost:6379", ID: "a:b"}},
		{"ID too long", RedisOptions{URL: "redis://localhost:6379", ID: strings.Repeat("a", 129)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRedis(t.Context(), tc.opts)
			if err == nil {
				_ = r.Close()
				t.Fatal("NewRedis accepted bad options")
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error reveals the password: %v", err)
			}
		})
	}
}

// TestRedisPassword connects with a password and fails with a wrong one; neither the error nor the
// log ever shows the password.
func TestRedisPassword(t *testing.T) {
	const good, bad = "good-secret-1", "bad-secret-2"
	srv := redistest.Start(t, "--requirepass", good)
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	a := newRedis(t, "redis://:"+good+"@"+srv.Addr(), RedisOptions{ID: "a", Logger: logger})
	b := newRedis(t, "redis://:"+good+"@"+srv.Addr(), RedisOptions{ID: "b", Logger: logger})
	b.Subscribe("x")
	waitReceivers(t, a, "x", 1)
	srv.Restart() // logs a loss and a reconnect
	eventually(t, "a reconnects", func() bool { return a.Stats().Reconnects > 0 && a.Ready() == nil })

	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_, err := NewRedis(ctx, RedisOptions{URL: "redis://:" + bad + "@" + srv.Addr(), Logger: logger})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("NewRedis with a wrong password: %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), bad) {
		t.Fatalf("the error reveals the password: %v", err)
	}
	out := logs.String()
	if !strings.Contains(out, "backplane reconnected") {
		t.Fatalf("the log does not show the reconnect:\n%s", out)
	}
	if strings.Contains(out, good) || strings.Contains(out, bad) {
		t.Fatalf("the log reveals a password:\n%s", out)
	}
}

func TestRedisUnreachable(t *testing.T) {
	srv := redistest.Start(t)
	url := srv.URL()
	srv.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := NewRedis(ctx, RedisOptions{URL: url, Logger: quietLogger})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("NewRedis without Redis: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("NewRedis took %s to give up, its context allowed 300ms", d)
	}
}

// TestRedisSubscribeBatches checks that many channels cost few SUBSCRIBE commands.
func TestRedisSubscribeBatches(t *testing.T) {
	srv := redistest.Start(t)
	raw := rawClient(t, srv)
	a := newRedis(t, srv.URL(), RedisOptions{ID: "a"})
	b := newRedis(t, srv.URL(), RedisOptions{ID: "b"})
	rec := newRecorder()
	b.SetHandler(rec.handle)
	channels := make([]string, 2000)
	for i := range channels {
		channels[i] = fmt.Sprint("ch", i)
	}
	if err := raw.ConfigResetStat(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	b.Subscribe(channels...)
	eventually(t, "b counts its subscriptions", func() bool { return b.Stats().Subscriptions == len(channels) })
	waitReceivers(t, a, "ch1999", 1)
	a.Send("ch1999", []byte("last"))
	rec.wait(t, 1)
	b.Unsubscribe(channels...)
	waitReceivers(t, a, "ch0", 0)

	info := raw.Info(t.Context(), "commandstats").Val()
	want := (len(channels) + subscribeBatch - 1) / subscribeBatch
	for _, cmd := range []string{"subscribe", "unsubscribe"} {
		if calls := commandCalls(info, cmd); calls < 1 || calls > want {
			t.Errorf("%d channels took %d %s commands, want at most %d", len(channels), calls, cmd, want)
		}
	}
}

// commandCalls reads cmdstat_<cmd>:calls=N from INFO commandstats.
func commandCalls(info, cmd string) int {
	for line := range strings.Lines(info) {
		if rest, ok := strings.CutPrefix(line, "cmdstat_"+cmd+":calls="); ok {
			n, _ := strconv.Atoi(strings.SplitN(rest, ",", 2)[0])
			return n
		}
	}
	return 0
}

// TestRedisDropsMalformed feeds a process what no kwps process sends: it drops and counts it, and
// never replies outside its prefix's reply channels.
func TestRedisDropsMalformed(t *testing.T) {
	srv := redistest.Start(t)
	raw := rawClient(t, srv)
	b := newRedis(t, srv.URL(), RedisOptions{Prefix: "p:", ID: "b", MaxMessageBytes: 1024})
	rec := newRecorder()
	rec.reply = replyID("b")
	b.SetHandler(rec.handle)
	b.Subscribe("x")
	eventually(t, "b subscribes", func() bool {
		n, _ := raw.PubSubNumSub(t.Context(), "p:x").Result()
		return n["p:x"] == 1
	})
	evil := raw.Subscribe(t.Context(), "evil", "p:elsewhere")
	defer evil.Close()
	if _, err := evil.Receive(t.Context()); err != nil { // subscription confirmed
		t.Fatal(err)
	}

	request := func(replyTo string) string {
		return string(appendEnvelope(nil, &envelope{kind: kindRequest, origin: "m", requestID: 1, replyTo: replyTo, payload: []byte("q")}))
	}
	for _, tc := range []struct{ name, data string }{
		{"empty", ""},
		{"not an envelope", "hello"},
		{"unknown version", "\x09\x01\x01mhello"},
		{"unknown kind", "\x01\x09\x01mhello"},
		{"origin overruns", "\x01\x01\x7fm"},
		{"request without ID", "\x01\x02\x01m"},
		{"too large", string(appendEnvelope(nil, &envelope{kind: kindMessage, origin: "m", payload: make([]byte, 2048)}))},
		{"reply to a foreign channel", request("evil")},
		{"reply to a bare prefix", request("p:node:")},
		{"reply to a non-reply channel", request("p:elsewhere")},
	} {
		before := b.Stats().DroppedIn
		if err := raw.Publish(t.Context(), "p:x", tc.data).Err(); err != nil {
			t.Fatal(err)
		}
		eventually(t, tc.name+" is counted as dropped", func() bool { return b.Stats().DroppedIn == before+1 })
	}
	time.Sleep(50 * time.Millisecond)
	if got := rec.messages(); len(got) != 0 {
		t.Fatalf("the handler received malformed messages: %q", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if m, err := evil.ReceiveMessage(ctx); err == nil {
		t.Fatalf("b published to %s", m.Channel)
	}
}

func TestRedisPendingRequestsBounded(t *testing.T) {
	srv := redistest.Start(t)
	a := newRedis(t, srv.URL(), RedisOptions{ID: "a", MaxPendingRequests: 1})
	silent := newRedis(t, srv.URL(), RedisOptions{ID: "silent"})
	silent.Subscribe("q")
	waitReceivers(t, a, "q", 1)

	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	first := make(chan error, 1)
	go func() {
		_, _, err := a.Request(ctx, "q", []byte("1"))
		first <- err
	}()
	eventually(t, "the first request waits", func() bool { return a.pendingCount() == 1 })
	if _, _, err := a.Request(t.Context(), "q", []byte("2")); !errors.Is(err, ErrTooManyRequests) {
		t.Fatalf("second request: %v, want ErrTooManyRequests", err)
	}
	if err := <-first; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first request: %v", err)
	}
	if n := a.pendingCount(); n != 0 {
		t.Fatalf("%d waiters left after the requests returned", n)
	}
}

func (r *Redis) pendingCount() int {
	r.pending.mu.Lock()
	defer r.pending.mu.Unlock()
	return len(r.pending.waiters)
}

// syncBuffer is a bytes.Buffer for a logger written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
