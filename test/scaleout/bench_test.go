package scaleout

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Shape of BenchmarkCrossProcessFanout.
const (
	benchMembers = 300
	// benchWindow is how many messages may be in flight in the throughput runs: enough to keep the
	// pipeline busy, few enough that no member's outbound queue comes near its bound (slow consumers
	// are disconnected). The latency runs have one in flight, so no message waits behind another.
	benchWindow = 8
	// maxLatencySamples bounds the recorded latencies (8 bytes each).
	maxLatencySamples = 1 << 22
)

// BenchmarkCrossProcessFanout measures group fan-out through the Redis backplane: a client on A
// publishes to a group of 300 members that sit either all on A (one-process: the backplane is joined
// but nobody else subscribes) or 100 on each of A, B and C (three-processes: two thirds of the
// deliveries cross Redis), with one message in flight (latency) or benchWindow (throughput). It
// reports deliveries per second and the p50/p99 latency from the publisher's write to a member's
// read, and for three-processes the latency added over one-process with the same window.
//
// Everything runs on one machine: the kwps processes, redis-server and the 300 clients of this
// process compete for the same cores, so compare the two layouts, not absolute numbers between
// machines. Allocations are not reported: the hot path runs in the kwps processes, not here.
func BenchmarkCrossProcessFanout(b *testing.B) {
	cl := newCluster(b, 3)
	a := cl.nodes[0]
	rec := newRecorder()
	layouts := []struct {
		name  string
		nodes []*node
	}{
		{"one-process", []*node{a}},
		{"three-processes", cl.nodes},
	}
	publishers := make([]*client, len(layouts))
	for li, l := range layouts {
		hub := fmt.Sprintf("bench%d", li)
		members := make([]*client, 0, benchMembers)
		for i := range benchMembers {
			n := l.nodes[i%len(l.nodes)]
			members = append(members, cl.connectWith(b, n, fmt.Sprintf("m%d", i), hub, clientOptions{groups: []string{"g"}}, rec.onData))
		}
		cl.waitMembers(b, cl.nodes[1], hub, "g", members...)
		publishers[li] = cl.connect(b, a, "publisher", hub, clientOptions{roles: []string{"webpubsub.sendToGroup"}})
	}

	baseline := map[int][2]float64{} // window -> p50, p99 of one-process, in ms
	for li, l := range layouts {
		for _, window := range []int{1, benchWindow} {
			b.Run(fmt.Sprintf("%s/in-flight-%d", l.name, window), func(b *testing.B) {
				runFanout(b, publishers[li], rec, window, li == 0, baseline)
			})
		}
	}
}

// runFanout publishes b.N messages with at most window in flight and reports the metrics; baseline
// holds the one-process latencies by window.
func runFanout(b *testing.B, pub *client, rec *recorder, window int, isBaseline bool, baseline map[int][2]float64) {
	rec.reset(b.N)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if i >= window {
			rec.waitDelivered(b, int64(i-window+1)*benchMembers)
		}
		data := strconv.Itoa(i) + " " + strconv.FormatInt(time.Now().UnixNano(), 10)
		if err := pub.trySendJSON(map[string]any{"type": "sendToGroup", "group": "g", "dataType": "text", "data": data, "noEcho": true}); err != nil {
			b.Fatalf("publisher: %v", err)
		}
	}
	rec.waitDelivered(b, int64(b.N)*benchMembers)
	elapsed := time.Since(start)
	b.StopTimer()

	p50, p99 := rec.percentiles()
	b.ReportMetric(float64(b.N)*benchMembers/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	if isBaseline {
		baseline[window] = [2]float64{p50, p99}
	} else if base, ok := baseline[window]; ok {
		b.ReportMetric(p50-base[0], "added-p50-ms")
		b.ReportMetric(p99-base[1], "added-p99-ms")
	}
}

// recorder counts the deliveries of the current benchmark run and their latencies. Members' reader
// goroutines call onData; the benchmark goroutine waits on it.
type recorder struct {
	delivered atomic.Int64
	wake      chan struct{} // a token per benchMembers deliveries; never replaced

	mu      sync.Mutex
	samples []float64 // latencies in ms
	bad     atomic.Int64
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{}, 1)} }

// reset starts a run of n messages; the previous run has no deliveries in flight.
func (r *recorder) reset(n int) {
	r.delivered.Store(0)
	r.bad.Store(0)
	select {
	case <-r.wake:
	default:
	}
	r.mu.Lock()
	r.samples = make([]float64, 0, min(n*benchMembers, maxLatencySamples))
	r.mu.Unlock()
}

// onData records one delivery: a frame whose data is "<seq> <send time in Unix ns>".
func (r *recorder) onData(frame []byte) {
	now := time.Now().UnixNano()
	sent, ok := sendTime(frame)
	if !ok {
		r.bad.Add(1)
		return
	}
	r.mu.Lock()
	if len(r.samples) < cap(r.samples) {
		r.samples = append(r.samples, float64(now-sent)/1e6)
	}
	r.mu.Unlock()
	if r.delivered.Add(1)%benchMembers == 0 {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// sendTime extracts the send time from a JSON message frame with text data "<seq> <ns>".
func sendTime(frame []byte) (int64, bool) {
	i := bytes.LastIndex(frame, []byte(`"data":"`))
	if i < 0 {
		return 0, false
	}
	data := frame[i+len(`"data":"`):]
	end := bytes.IndexByte(data, '"')
	sp := bytes.IndexByte(data, ' ')
	if end < 0 || sp < 0 || sp > end {
		return 0, false
	}
	ns, err := strconv.ParseInt(string(data[sp+1:end]), 10, 64)
	return ns, err == nil
}

// waitDelivered waits until n deliveries were recorded; none for waitFor means messages were lost.
func (r *recorder) waitDelivered(b *testing.B, n int64) {
	for r.delivered.Load() < n {
		select {
		case <-r.wake:
		case <-time.After(waitFor):
			b.Fatalf("%d of %d deliveries after %s without progress (%d malformed): messages were lost", r.delivered.Load(), n, waitFor, r.bad.Load())
		}
	}
}

// percentiles returns the p50 and p99 of the recorded latencies, in ms.
func (r *recorder) percentiles() (p50, p99 float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.samples) == 0 {
		return 0, 0
	}
	slices.Sort(r.samples)
	at := func(q float64) float64 { return r.samples[min(len(r.samples)-1, int(q*float64(len(r.samples))))] }
	return at(0.50), at(0.99)
}
