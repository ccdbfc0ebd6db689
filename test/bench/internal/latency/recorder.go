package latency

import (
	"sync/atomic"
	"time"
)

// Recorder collects the latencies of the messages of the current step. Receivers pass every frame they
// get to Observe; messages stamped with another step (late arrivals from an earlier step) are counted
// as stale and otherwise ignored. All methods are safe for concurrent use.
type Recorder struct {
	cur   atomic.Pointer[current]
	stale atomic.Int64
	last  atomic.Int64 // Now() of the latest message observed, of any step
}

// current pairs a step with its histogram, so that they change together.
type current struct {
	step uint32
	hist *Histogram
}

// NewRecorder returns a Recorder whose current step is 0 (nothing is sent with step 0).
func NewRecorder() *Recorder {
	r := &Recorder{}
	r.cur.Store(&current{hist: &Histogram{}})
	return r
}

// Begin makes step current with a new histogram, which it returns.
func (r *Recorder) Begin(step uint32) *Histogram {
	c := &current{step: step, hist: &Histogram{}}
	r.cur.Store(c)
	return c.hist
}

// Observe records every head in frame: the latency of those of the current step, a count of the others.
func (r *Recorder) Observe(frame []byte) {
	Scan(frame, r.Record)
}

// Record records one arrival, now, of something sent at sent (a Now() reading) for step.
func (r *Recorder) Record(step uint32, sent int64) {
	now := Now()
	r.last.Store(now)
	c := r.cur.Load()
	if step != c.step {
		r.stale.Add(1)
		return
	}
	c.hist.Record(time.Duration(now - sent))
}

// Stale is how many messages of other steps arrived so far.
func (r *Recorder) Stale() int64 { return r.stale.Load() }

// Quiet reports how long no message arrived, measured at now (a Now() reading).
func (r *Recorder) Quiet(now int64) time.Duration {
	return time.Duration(now - r.last.Load())
}
