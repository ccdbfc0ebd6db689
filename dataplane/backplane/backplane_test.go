package backplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kwps/kwps/dataplane/backplane/redistest"
)

// cluster makes processes that share one backplane: a Memory network or a Redis server and prefix.
type cluster interface {
	join(t testing.TB, id string, in IngressOptions) Backplane
}

type memoryCluster struct{ net *Network }

func (c memoryCluster) join(t testing.TB, id string, in IngressOptions) Backplane {
	m := c.net.JoinWith(id, in)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

type redisCluster struct{ url, prefix string }

func (c redisCluster) join(t testing.TB, id string, in IngressOptions) Backplane {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	r, err := NewRedis(ctx, RedisOptions{URL: c.url, Prefix: c.prefix, ID: id, Ingress: in, Logger: quietLogger})
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// behaviour is the table of what every implementation must do; TestMemory and TestRedis run it.
var behaviour = []struct {
	name string
	run  func(t *testing.T, c cluster)
}{
	{"subscribe and unsubscribe", testSubscribeUnsubscribe},
	{"a message reaches only subscribed processes", testOnlySubscribed},
	{"own messages are not received", testOwnMessages},
	{"receivers count excludes the sender", testReceivers},
	{"request gathers one reply per process", testRequestGathers},
	{"request times out cleanly when a process does not answer", testRequestTimeout},
	{"request ends at close", testRequestClose},
	{"order per channel per publisher under a burst", testOrder},
	{"a slow handler drops and counts, other channels flow", testSlowHandler},
	{"sync makes new subscriptions count at once", testSync},
	{"flush waits for earlier sends, barrier for earlier deliveries", testFlushBarrier},
	{"closed backplane", testClosed},
	{"close leaves no goroutine", testNoLeak},
}

func TestMemory(t *testing.T) {
	for _, tc := range behaviour {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, memoryCluster{NewNetwork()}) })
	}
}

func TestRedis(t *testing.T) {
	srv := redistest.Start(t)
	for i, tc := range behaviour {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, redisCluster{url: srv.URL(), prefix: "t" + strconv.Itoa(i) + ":"})
		})
	}
}

// recorder is a Handler that records what it receives, ignoring probes, and optionally replies.
type recorder struct {
	mu     sync.Mutex
	got    []string // "channel payload"
	notify chan struct{}
	reply  func(channel string, payload []byte) []byte // nil: never reply
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) handle(channel string, payload []byte, reply func([]byte)) {
	if strings.HasPrefix(string(payload), "probe") {
		return
	}
	r.mu.Lock()
	r.got = append(r.got, channel+" "+string(payload))
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	if reply != nil && r.reply != nil {
		reply(r.reply(channel, payload))
	}
}

func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// wait returns the messages once there are at least n, or fails the test after a while.
func (r *recorder) wait(t testing.TB, n int) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if got := r.messages(); len(got) >= n {
			return got
		}
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatalf("received %d messages, want %d: %q", len(r.messages()), n, r.messages())
		}
	}
}

// joinRecording joins a process with a recorder as its handler.
func joinRecording(t testing.TB, c cluster, id string) (Backplane, *recorder) {
	bp := c.join(t, id, IngressOptions{})
	rec := newRecorder()
	bp.SetHandler(rec.handle)
	return bp, rec
}

// waitReceivers publishes probes from bp until channel has want other receivers: Subscribe applies
// shortly after it returns.
func waitReceivers(t testing.TB, bp Backplane, channel string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := bp.Publish(t.Context(), channel, []byte("probe"))
		if err == nil && n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d receivers (err %v), want %d", channel, n, err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testSubscribeUnsubscribe(t *testing.T, c cluster) {
	a, recA := joinRecording(t, c, "a")
	b, _ := joinRecording(t, c, "b")

	a.Subscribe("x")
	waitReceivers(t, b, "x", 1)
	b.Send("x", []byte("m1"))
	if got := recA.wait(t, 1); got[0] != "x m1" {
		t.Fatalf("a received %q, want x m1", got)
	}
	eventually(t, "a counts one subscription", func() bool { return a.Stats().Subscriptions == 1 })

	// Subscriptions are a set: a second Subscribe does not need a second Unsubscribe.
	a.Subscribe("x")
	a.Unsubscribe("x")
	waitReceivers(t, b, "x", 0)
	if n, err := b.Publish(t.Context(), "x", []byte("m2")); n != 0 || err != nil {
		t.Fatalf("publish after unsubscribe: %d receivers, %v", n, err)
	}
	eventually(t, "a counts no subscription", func() bool { return a.Stats().Subscriptions == 0 })

	// Changes apply in call order: the last call wins.
	a.Subscribe("y")
	a.Unsubscribe("y")
	a.Subscribe("y")
	waitReceivers(t, b, "y", 1)
	b.Send("y", []byte("m3"))
	if got := recA.wait(t, 2); got[1] != "y m3" {
		t.Fatalf("a received %q, want y m3 last", got)
	}
	if got := recA.messages(); slices.Contains(got, "x m2") {
		t.Fatalf("a received a message after unsubscribing: %q", got)
	}
}

func testOnlySubscribed(t *testing.T, c cluster) {
	a, recA := joinRecording(t, c, "a")
	b, recB := joinRecording(t, c, "b")
	cc, recC := joinRecording(t, c, "c")
	d, _ := joinRecording(t, c, "d")
	a.Subscribe("g1")
	b.Subscribe("g1", "g2")
	cc.Subscribe("g3")
	waitReceivers(t, d, "g1", 2)
	waitReceivers(t, d, "g3", 1)

	if n, err := d.Publish(t.Context(), "g1", []byte("to-g1")); n != 2 || err != nil {
		t.Fatalf("publish g1: %d receivers, %v; want 2", n, err)
	}
	d.Send("g3", []byte("to-g3"))
	recA.wait(t, 1)
	recB.wait(t, 1)
	recC.wait(t, 1)
	time.Sleep(50 * time.Millisecond) // room for a wrong delivery to show
	for _, tc := range []struct {
		who  string
		rec  *recorder
		want []string
	}{
		{"a", recA, []string{"g1 to-g1"}},
		{"b", recB, []string{"g1 to-g1"}},
		{"c", recC, []string{"g3 to-g3"}},
	} {
		if got := tc.rec.messages(); !slices.Equal(got, tc.want) {
			t.Errorf("%s received %q, want %q", tc.who, got, tc.want)
		}
	}
}

func testOwnMessages(t *testing.T, c cluster) {
	a, recA := joinRecording(t, c, "a")
	b, recB := joinRecording(t, c, "b")
	a.Subscribe("x")
	b.Subscribe("x")
	// Probes only from a: a probe from b could still be on its way to a when counting starts.
	eventually(t, "a is subscribed", func() bool { return a.Stats().Subscriptions == 1 })
	waitReceivers(t, a, "x", 1)
	before := a.Stats().Received

	if n, err := a.Publish(t.Context(), "x", []byte("p")); n != 1 || err != nil {
		t.Fatalf("publish: %d receivers, %v; want 1", n, err)
	}
	a.Send("x", []byte("s"))
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, _, err := a.Request(ctx, "x", []byte("r")); err == nil {
		t.Fatal("b does not reply, yet the request returned without error")
	}
	recB.wait(t, 3)
	time.Sleep(50 * time.Millisecond)
	if got := recA.messages(); len(got) != 0 {
		t.Fatalf("a received its own messages: %q", got)
	}
	if got := a.Stats().Received - before; got != 0 {
		t.Fatalf("a counted %d received messages of its own", got)
	}
}

func testReceivers(t *testing.T, c cluster) {
	bps := make([]Backplane, 4)
	for i := range bps {
		bps[i], _ = joinRecording(t, c, fmt.Sprint("p", i))
	}
	for _, bp := range bps[:3] {
		bp.Subscribe("x")
	}
	waitReceivers(t, bps[3], "x", 3)
	for _, tc := range []struct {
		from int
		want int
	}{
		{0, 2}, // subscribed itself: not counted
		{1, 2},
		{3, 3}, // not subscribed
	} {
		n, err := bps[tc.from].Publish(t.Context(), "x", []byte("probe"))
		if n != tc.want || err != nil {
			t.Errorf("publish from p%d: %d receivers, %v; want %d", tc.from, n, err, tc.want)
		}
	}
	bps[2].Unsubscribe("x")
	waitReceivers(t, bps[0], "x", 1)
	if n, _ := bps[3].Publish(t.Context(), "nobody", []byte("probe")); n != 0 {
		t.Errorf("publish to a channel nobody subscribed: %d receivers", n)
	}
}

// replyID makes a recorder answer requests with its process ID.
func replyID(id string) func(string, []byte) []byte {
	return func(string, []byte) []byte { return []byte(id) }
}

func testRequestGathers(t *testing.T, c cluster) {
	asker, _ := joinRecording(t, c, "asker")
	for _, id := range []string{"r1", "r2", "r3"} {
		bp, rec := joinRecording(t, c, id)
		rec.reply = replyID(id)
		bp.Subscribe("q")
	}
	waitReceivers(t, asker, "q", 3)

	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	replies, n, err := asker.Request(ctx, "q", []byte("who"))
	if err != nil || n != 3 {
		t.Fatalf("Request: %d receivers, %v; want 3, nil", n, err)
	}
	got := make([]string, len(replies))
	for i, r := range replies {
		got[i] = string(r)
	}
	slices.Sort(got)
	if want := []string{"r1", "r2", "r3"}; !slices.Equal(got, want) {
		t.Fatalf("replies %q, want %q", got, want)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Request took %s although every process answered", d)
	}
	if replies, n, err := asker.Request(ctx, "nobody", []byte("who")); len(replies) != 0 || n != 0 || err != nil {
		t.Fatalf("Request to nobody: %q, %d, %v; want nothing, at once", replies, n, err)
	}
}

func testRequestTimeout(t *testing.T, c cluster) {
	asker, _ := joinRecording(t, c, "asker")
	for _, id := range []string{"r1", "r2"} {
		bp, rec := joinRecording(t, c, id)
		rec.reply = replyID(id)
		bp.Subscribe("q")
	}
	silent, _ := joinRecording(t, c, "silent") // never replies
	silent.Subscribe("q")
	waitReceivers(t, asker, "q", 3)

	const timeout = 300 * time.Millisecond
	start := time.Now() // before the deadline is set, so that elapsed cannot fall short of it
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	replies, n, err := asker.Request(ctx, "q", []byte("who"))
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || n != 3 || len(replies) != 2 {
		t.Fatalf("Request: %d replies, %d receivers, %v; want 2, 3, deadline exceeded", len(replies), n, err)
	}
	if elapsed < timeout || elapsed > timeout+time.Second {
		t.Fatalf("Request returned after %s, want about %s", elapsed, timeout)
	}
	// The backplane keeps working for the next request.
	silent.Unsubscribe("q")
	waitReceivers(t, asker, "q", 2)
	ctx2, cancel2 := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel2()
	if replies, _, err := asker.Request(ctx2, "q", []byte("who")); err != nil || len(replies) != 2 {
		t.Fatalf("next Request: %d replies, %v", len(replies), err)
	}
}

func testRequestClose(t *testing.T, c cluster) {
	asker, _ := joinRecording(t, c, "asker")
	silent, _ := joinRecording(t, c, "silent")
	silent.Subscribe("q")
	waitReceivers(t, asker, "q", 1)
	errc := make(chan error, 1)
	go func() {
		_, _, err := asker.Request(t.Context(), "q", []byte("who"))
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	_ = asker.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Request at Close returned %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Request still waits after Close")
	}
}

func testOrder(t *testing.T, c cluster) {
	recv, rec := joinRecording(t, c, "recv")
	sender, _ := joinRecording(t, c, "sender")
	channels := []string{"o1", "o2", "o3"}
	recv.Subscribe(channels...)
	for _, ch := range channels {
		waitReceivers(t, sender, ch, 1)
	}
	const burst = 3000
	for i := range burst {
		sender.Send(channels[i%len(channels)], []byte(strconv.Itoa(i)))
	}
	// Delivery is at most once: wait for everything that was not dropped.
	eventually(t, "the burst is received or counted as dropped", func() bool {
		s, r := sender.Stats(), recv.Stats()
		return len(rec.messages())+int(s.DroppedOut+r.DroppedIn) == burst
	})
	last := map[string]int{}
	for _, m := range rec.messages() {
		ch, p, _ := strings.Cut(m, " ")
		i, _ := strconv.Atoi(p)
		if prev, ok := last[ch]; ok && i <= prev {
			t.Fatalf("%s: %d after %d", ch, i, prev)
		}
		last[ch] = i
	}
	if got := len(rec.messages()); got < burst*9/10 {
		t.Fatalf("only %d of %d messages arrived: the default queues should hold a burst", got, burst)
	}
}

func testSlowHandler(t *testing.T, c cluster) {
	const queue = 4
	slow := c.join(t, "slow", IngressOptions{Workers: 2, Queue: queue})
	sender, _ := joinRecording(t, c, "sender")
	// Two channels on different workers.
	fast := "fast"
	for i := 0; channelHash(fast)%2 == channelHash("slow")%2; i++ {
		fast = "fast" + strconv.Itoa(i)
	}
	release := make(chan struct{})
	var slowGot atomic.Int64
	fastGot := make(chan string, 16)
	slow.SetHandler(func(ch string, p []byte, _ func([]byte)) {
		if strings.HasPrefix(string(p), "probe") {
			return
		}
		if ch == "slow" {
			<-release
			slowGot.Add(1)
			return
		}
		fastGot <- string(p)
	})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	slow.Subscribe("slow", fast)
	waitReceivers(t, sender, "slow", 1)
	waitReceivers(t, sender, fast, 1)

	const sent = 50
	for i := range sent {
		sender.Send("slow", []byte(strconv.Itoa(i)))
	}
	// One message blocks the worker, queue more wait; the rest are dropped.
	eventually(t, "the slow channel's overflow is counted", func() bool {
		return slow.Stats().DroppedIn >= sent-queue-1
	})
	sender.Send(fast, []byte("hello"))
	select {
	case got := <-fastGot:
		if got != "hello" {
			t.Fatalf("fast channel received %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a blocked handler on one channel held up another channel")
	}
	close(release)
	eventually(t, "every queued slow message is handled", func() bool {
		return slowGot.Load()+int64(slow.Stats().DroppedIn) == sent
	})
	if got := slowGot.Load(); got < 1 || got > queue+1 {
		t.Fatalf("the slow handler got %d messages, want 1 to %d", got, queue+1)
	}
}

func testClosed(t *testing.T, c cluster) {
	a, _ := joinRecording(t, c, "a")
	if err := a.Ready(); err != nil {
		t.Fatalf("Ready before Close: %v", err)
	}
	_ = a.Close()
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := a.Ready(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ready after Close: %v", err)
	}
	if _, err := a.Publish(t.Context(), "x", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
	if _, _, err := a.Request(t.Context(), "x", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Request after Close: %v", err)
	}
	before := a.Stats().DroppedOut
	a.Send("x", nil)
	a.Subscribe("x")
	a.Unsubscribe("x")
	if s := a.Stats(); s.DroppedOut != before+1 || s.Connected {
		t.Fatalf("Stats after Close and a Send: %+v", s)
	}
}

func testNoLeak(t *testing.T, c cluster) {
	before := runtime.NumGoroutine()
	a := c.join(t, "a", IngressOptions{})
	b, rec := joinRecording(t, c, "b")
	rec.reply = replyID("b")
	b.Subscribe("x")
	waitReceivers(t, a, "x", 1)
	a.Send("x", []byte("m"))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, _, err := a.Request(ctx, "x", []byte("q")); err != nil {
		t.Fatalf("Request: %v", err)
	}
	rec.wait(t, 2)
	_ = a.Close()
	_ = b.Close()
	var now int
	deadline := time.Now().Add(5 * time.Second)
	for now = runtime.NumGoroutine(); now > before && time.Now().Before(deadline); now = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	if now > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after Close:\n%s", before, now, buf[:runtime.Stack(buf, true)])
	}
}

// testSync: once Sync returns, a subscription made before it is in effect: a Publish from another
// process, made right away, counts this process among its receivers (no polling).
func testSync(t *testing.T, c cluster) {
	a := c.join(t, "a", IngressOptions{})
	b := c.join(t, "b", IngressOptions{})
	a.SetHandler(func(string, []byte, func([]byte)) {})
	for i := range 50 {
		ch := "sync-" + strconv.Itoa(i)
		a.Subscribe(ch)
		if err := a.Sync(t.Context()); err != nil {
			t.Fatalf("Sync: %v", err)
		}
		n, err := b.Publish(t.Context(), ch, []byte("x"))
		if err != nil || n != 1 {
			t.Fatalf("publish on %s right after Sync: receivers %d, %v; want 1", ch, n, err)
		}
	}
}

// testFlushBarrier: once the sender's Flush returned, every Send made before it was published; once
// the receiver's Barrier returned, every message received before it was handled, on every worker.
func testFlushBarrier(t *testing.T, c cluster) {
	a := c.join(t, "a", IngressOptions{Workers: 4})
	b := c.join(t, "b", IngressOptions{})
	var handled atomic.Int64
	a.SetHandler(func(ch string, _ []byte, _ func([]byte)) {
		if strings.HasSuffix(ch, "-slow") {
			time.Sleep(2 * time.Millisecond)
		}
		handled.Add(1)
	})
	channels := []string{"fb-1", "fb-2-slow", "fb-3", "fb-4-slow", "fb-5"}
	a.Subscribe(channels...)
	if err := a.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	const perChannel = 40
	for i := range perChannel * len(channels) {
		b.Send(channels[i%len(channels)], []byte("x"))
	}
	if err := b.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if got := b.Stats().Published; got < perChannel*uint64(len(channels)) {
		t.Fatalf("after Flush only %d of %d sends were published", got, perChannel*len(channels))
	}
	// Everything is on its way to a; wait until a has received it all, then Barrier must return only
	// once the slow workers handled every message.
	eventually(t, "all received", func() bool { return a.Stats().Received >= perChannel*uint64(len(channels)) })
	if err := a.Barrier(t.Context()); err != nil {
		t.Fatalf("Barrier: %v", err)
	}
	if got := handled.Load(); got != perChannel*int64(len(channels)) {
		t.Fatalf("Barrier returned with %d of %d messages handled", got, perChannel*len(channels))
	}
}
