package scenario

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kwps/kwps/test/bench/internal/latency"
)

// testProfile steps fast: the synthetic loads below deliver in microseconds.
func testProfile() Profile {
	p := Smoke()
	p.Window, p.Drain, p.Settle = 200*time.Millisecond, 50*time.Millisecond, 20*time.Millisecond
	p.Sweep, p.Bisect, p.Factor = 8, 2, 2
	return p
}

// capacityLoad is a system that can make capacity deliveries a second: a token bucket (two sends of
// burst) delivers a send at once, fanout times, while it has tokens and loses it when it has none.
func capacityLoad(capacity float64) *load {
	rec := latency.NewRecorder()
	const fanout = 10
	var mu sync.Mutex
	const burst = 2.0
	tokens, last := burst, time.Now()
	return &load{
		fanout: fanout, slots: 3, workers: 2, rec: rec,
		send: func(_ context.Context, step uint32, _ int) error {
			mu.Lock()
			now := time.Now()
			tokens = min(tokens+now.Sub(last).Seconds()*capacity/fanout, burst)
			last = now
			ok := tokens >= 1
			if ok {
				tokens--
			}
			mu.Unlock()
			if ok {
				sent := latency.Now()
				for range fanout {
					rec.Record(step, sent)
				}
			}
			return nil
		},
	}
}

func TestSearchFindsTheCapacity(t *testing.T) {
	for _, c := range []struct {
		name         string
		capacity     float64
		start, limit float64
		// The best passing rate must fall in [lo, hi]: two bisection rounds after doubling leave it
		// within x1.19 under the capacity (and the bucket's burst lets a step a little over it pass).
		// lo zero: no rate may pass.
		lo, hi float64
	}{
		{"between grid points", 3000, 1000, 1e6, 3000 / 1.19, 3000 * 1.05},
		{"nothing passes", 500, 1000, 1e6, 0, 0},
		{"the limit stops the sweep", 1e9, 1000, 8000, 8000, 8000},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := &stepper{prof: testProfile()}
			sr := st.search(t.Context(), capacityLoad(c.capacity), c.start, c.limit)
			if c.lo == 0 {
				if sr.max != nil {
					t.Fatalf("max %.0f, want none; steps: %v", sr.max.outRate, sr.steps)
				}
				return
			}
			if sr.max == nil {
				t.Fatalf("no passing step; steps: %v", sr.steps)
			}
			if got := sr.max.outRate; got < c.lo*0.99 || got > c.hi*1.01 {
				t.Errorf("max %.0f, want %.0f to %.0f; steps: %v", got, c.lo, c.hi, sr.steps)
			}
			for _, s := range sr.steps {
				if s.outRate > c.capacity*1.05 && s.pass(maxLatency) {
					t.Errorf("a step well above capacity passed: %v", s)
				}
			}
			if sr.knee == nil || sr.knee.outRate > sr.max.outRate {
				t.Errorf("knee %v not at or below max %v", sr.knee, sr.max)
			}
		})
	}
}

func TestStepPassRules(t *testing.T) {
	ok := stepResult{outRate: 1000, sent: 100, expected: 1000, arrived: 1000, p99: 10 * time.Millisecond, p99ok: true}
	for _, c := range []struct {
		name      string
		edit      func(*stepResult)
		max, knee bool
	}{
		{"fast and complete", func(*stepResult) {}, true, true},
		{"p99 between the bounds", func(s *stepResult) { s.p99 = 200 * time.Millisecond }, true, false},
		{"p99 over a second", func(s *stepResult) { s.p99 = 1100 * time.Millisecond }, false, false},
		{"over 1% lost", func(s *stepResult) { s.p99ok = false }, false, false},
		{"generator fell behind", func(s *stepResult) { s.unsent = 10 }, false, false},
		{"sends failed", func(s *stepResult) { s.failed = 10; s.firstErr = errors.New("x") }, false, false},
		{"a connection dropped", func(s *stepResult) { s.dropped = 1 }, false, false},
		{"delivering too slowly at the end", func(s *stepResult) { s.sustained, s.sustainedOK = 700, true }, false, false},
		{"keeping up at the end", func(s *stepResult) { s.sustained, s.sustainedOK = 950, true }, true, true},
		{"a little short at the end", func(s *stepResult) { s.sustained, s.sustainedOK = 880, true }, false, false},
		{"nothing sent", func(s *stepResult) { s.sent, s.expected, s.arrived = 0, 0, 0 }, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := ok
			c.edit(&s)
			if got := s.pass(maxLatency); got != c.max {
				t.Errorf("pass(1 s) = %v, want %v", got, c.max)
			}
			if got := s.pass(kneeLatency); got != c.knee {
				t.Errorf("pass(50 ms) = %v, want %v", got, c.knee)
			}
		})
	}
}

func TestStepPacesTheOfferedRate(t *testing.T) {
	st := &stepper{prof: testProfile()}
	res := st.step(t.Context(), capacityLoad(1e9), 20000, 200*time.Millisecond) // 2,000 sends/s of fanout 10
	if res.sent < 380 || res.sent > 420 {
		t.Errorf("sent %d in 200 ms at 2,000/s, want about 400", res.sent)
	}
	if res.arrived != res.expected || res.expected != res.sent*10 {
		t.Errorf("arrived %d expected %d sent %d", res.arrived, res.expected, res.sent)
	}
	if !res.pass(kneeLatency) {
		t.Errorf("an instant system failed: %v", res)
	}
}
