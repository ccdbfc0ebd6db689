package scenario

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kwps/kwps/test/bench/internal/latency"
)

// Pass thresholds: Azure's maximum throughput keeps p99 under a second; the knee keeps it under 50 ms.
const (
	maxLatency  = time.Second
	kneeLatency = 50 * time.Millisecond
)

// load is what a stepped run offers: sends, each of which should deliver fanout messages that the
// receivers pass to rec.
type load struct {
	// fanout is how many deliveries one send makes.
	fanout int
	// slots is how many distinct sends there are; send gets i in [0, slots) round-robin.
	slots int
	// workers is how many sends may be in flight.
	workers int
	// send sends message slot i stamped with step.
	send func(ctx context.Context, step uint32, i int) error
	rec  *latency.Recorder
	// heal reopens connections that dropped and says how many; nil when nothing can drop.
	heal func(ctx context.Context) (int, error)
}

// stepResult is the outcome of offering one rate for one window.
type stepResult struct {
	outRate  float64 // offered deliveries per second
	window   time.Duration
	sent     int64 // sends that went out
	unsent   int64 // sends due that the workers could not take (the load generator fell behind)
	failed   int64 // sends that failed
	firstErr error
	expected int64 // sent * fanout
	arrived  int64 // deliveries of this step that arrived before the drain ended
	p50, p99 time.Duration
	p99ok    bool // false: more than 1% of the expected deliveries never arrived
	dropped  int  // connections that dropped during the step
	// sustained is the delivery rate over the second half of the window, when that half had enough
	// sends to measure it (sustainedOK). A system that falls behind delivers less than offered there,
	// even when a short window lets its queues hide the backlog from p99.
	sustained   float64
	sustainedOK bool
}

// minSustainedSends is how many sends the second half of a window needs for its delivery rate to be
// measured; below it one send more or less would swing the rate too far.
const minSustainedSends = 16

// pass reports whether the step kept p99 under limit with the offered load actually sent (95%),
// delivered at 90% of the offered rate or more at the end of the window, and no connection lost.
func (s stepResult) pass(limit time.Duration) bool {
	due := s.sent + s.unsent + s.failed
	return s.p99ok && s.p99 < limit && s.dropped == 0 && due > 0 && float64(s.sent) >= 0.95*float64(due) &&
		(!s.sustainedOK || s.sustained >= 0.9*s.outRate)
}

// String summarizes the step for the progress log.
func (s stepResult) String() string {
	p99 := "lost"
	if s.p99ok {
		p99 = s.p99.Round(10 * time.Microsecond).String()
	}
	str := fmt.Sprintf("offered %.0f/s: delivered %d/%d, p50 %s p99 %s", s.outRate, s.arrived, s.expected, s.p50.Round(10*time.Microsecond), p99)
	if s.sustainedOK {
		str += fmt.Sprintf(", %.0f/s at the end", s.sustained)
	}
	if s.unsent > 0 || s.failed > 0 {
		str += fmt.Sprintf(", sends unsent %d failed %d", s.unsent, s.failed)
	}
	if s.firstErr != nil {
		str += fmt.Sprintf(" (%v)", s.firstErr)
	}
	if s.dropped > 0 {
		str += fmt.Sprintf(", %d connections dropped", s.dropped)
	}
	return str
}

// stepper runs steps with fresh step numbers.
type stepper struct {
	prof Profile
	last atomic.Uint32
	logf func(format string, args ...any)
}

// step offers outRate deliveries per second for window, then waits for the deliveries to drain and
// the system to go quiet, and reopens connections that dropped.
func (st *stepper) step(ctx context.Context, l *load, outRate float64, window time.Duration) stepResult {
	id := st.last.Add(1) % latency.MaxStep
	hist := l.rec.Begin(id)
	res := stepResult{outRate: outRate, window: window}
	inRate := outRate / float64(l.fanout)

	// The queue absorbs the load generator's own scheduling jitter (20 ms of sends): a send is counted
	// as unsent only when the generator falls that far behind.
	queue := make(chan int, max(64, int(inRate/50)))
	var sent, failed atomic.Int64
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range l.workers {
		wg.Go(func() {
			for i := range queue {
				if err := l.send(ctx, id, i); err != nil {
					failed.Add(1)
					errOnce.Do(func() { res.firstErr = err })
					continue
				}
				sent.Add(1)
			}
		})
	}

	// The pacer issues sends on schedule; one that no worker can take now is counted, not queued.
	start := time.Now()
	var issued, halfIssued, halfCount int64
	var half time.Duration
	for slot := 0; ; {
		elapsed := time.Since(start)
		if elapsed >= window || ctx.Err() != nil {
			if half > 0 && issued-halfIssued >= minSustainedSends {
				res.sustained = float64(hist.Count()-halfCount) / (elapsed - half).Seconds()
				res.sustainedOK = true
			}
			break
		}
		if half == 0 && elapsed >= window/2 {
			half, halfIssued, halfCount = elapsed, issued, hist.Count()
		}
		// Send k is due at k/inRate: the first at once, and rate*window in all.
		for due := int64(inRate*elapsed.Seconds()) + 1; issued < due; issued++ {
			select {
			case queue <- slot:
				slot = (slot + 1) % l.slots
			default:
				res.unsent++
			}
		}
		next := time.Duration(float64(issued) / inRate * float64(time.Second))
		time.Sleep(min(max(next-elapsed, 200*time.Microsecond), time.Millisecond, window-elapsed))
	}
	close(queue)
	wg.Wait()
	res.sent, res.failed = sent.Load(), failed.Load()
	res.expected = res.sent * int64(l.fanout)

	// Drain: wait for what was sent, at most as long as a passing delivery may take.
	drainEnd := time.Now().Add(st.prof.Drain)
	for hist.Count() < res.expected && time.Now().Before(drainEnd) && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
	res.arrived = hist.Count()
	res.p50, _ = hist.Quantile(0.50, res.expected)
	res.p99, res.p99ok = hist.Quantile(0.99, res.expected)
	if res.expected == 0 {
		res.p99ok = false
	}

	st.settle(ctx, l)
	if l.heal != nil {
		n, err := l.heal(ctx)
		res.dropped = n
		if err != nil && res.firstErr == nil {
			res.firstErr = fmt.Errorf("reopening dropped connections: %w", err)
		}
	}
	if st.logf != nil {
		st.logf("    %s", res)
	}
	return res
}

// settle waits until no message arrived for a while, so that a backlog left by an overloaded step
// does not count against the next one.
func (st *stepper) settle(ctx context.Context, l *load) {
	quiet := min(100*time.Millisecond, st.prof.Settle/2)
	end := time.Now().Add(st.prof.Settle)
	for l.rec.Quiet(latency.Now()) < quiet && time.Now().Before(end) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}

// searchResult is the outcome of stepping a load.
type searchResult struct {
	steps     []stepResult
	max, knee *stepResult // the passing steps with the highest rates; nil if none passed
}

// search steps the offered rate from start, multiplying it by prof.Factor until a step fails the
// 1 s bound (or limit is reached), then bisects (geometrically) the last passing and first failing
// rates of both bounds prof.Bisect times.
func (st *stepper) search(ctx context.Context, l *load, start, limit float64) searchResult {
	var sr searchResult
	var maxLo, maxHi, kneeLo, kneeHi float64
	record := func(s stepResult) {
		sr.steps = append(sr.steps, s)
		update := func(limit time.Duration, lo, hi *float64, best **stepResult) {
			if s.pass(limit) {
				if s.outRate > *lo && (*hi == 0 || s.outRate < *hi) {
					*lo = s.outRate
					*best = &sr.steps[len(sr.steps)-1]
				}
			} else if *hi == 0 || s.outRate < *hi {
				*hi = s.outRate
			}
		}
		update(maxLatency, &maxLo, &maxHi, &sr.max)
		update(kneeLatency, &kneeLo, &kneeHi, &sr.knee)
	}
	// Pointers into sr.steps must stay valid: reserve room for every step the search may take.
	sr.steps = make([]stepResult, 0, st.prof.Sweep+2*st.prof.Bisect)

	for rate, n := start, 0; n < st.prof.Sweep && rate <= limit && ctx.Err() == nil; rate, n = rate*st.prof.Factor, n+1 {
		s := st.step(ctx, l, rate, st.prof.Window)
		record(s)
		if !s.pass(maxLatency) {
			break
		}
	}
	for range st.prof.Bisect {
		if ctx.Err() != nil {
			break
		}
		if maxLo > 0 && maxHi > 0 {
			record(st.step(ctx, l, math.Sqrt(maxLo*maxHi), st.prof.Window))
		}
		if kneeLo > 0 && kneeHi > 0 && kneeHi > 1.1*kneeLo {
			record(st.step(ctx, l, math.Sqrt(kneeLo*kneeHi), st.prof.Window))
		}
	}
	return sr
}
