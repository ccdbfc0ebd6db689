package gateway

import (
	"net"
	"runtime"
	"sync"
)

// flusher writes the queues of polled transports from a few goroutines, instead of starting a writer
// goroutine for every transport that has something to write: a fan-out to 1,000 members then costs up
// to GOMAXPROCS goroutines, not 1,000. Its writes never block: a transport whose socket is full gets a
// writer goroutine of its own (writeLoop), which waits for the socket within WriteTimeout.
type flusher struct {
	max int // flusher goroutines at most: one per processor

	mu     sync.Mutex
	ready  []*transport // each transport at most once: it is here only while it is the queue's writer
	next   int          // ready[next:] are waiting
	active int
}

func newFlusher() *flusher { return &flusher{max: runtime.GOMAXPROCS(0)} }

// flushBatch is how many transports a flusher takes at a time, and the backlog per running flusher
// above which another one starts (up to max).
const flushBatch = 64

// schedule hands t, whose queue the caller has just made t's writer for, to a flusher.
func (f *flusher) schedule(t *transport) {
	f.mu.Lock()
	f.ready = append(f.ready, t)
	start := f.active == 0 || (f.active < f.max && len(f.ready)-f.next > f.active*flushBatch)
	if start {
		f.active++
	}
	f.mu.Unlock()
	if start {
		go f.run()
	}
}

// run writes ready transports until there are none.
func (f *flusher) run() {
	// Let what is already runnable (read sessions with more messages) go first: frames they queue for
	// transports still waiting here are written in the same write.
	runtime.Gosched()
	batch := make([]*transport, 0, flushBatch)
	var bufs net.Buffers
	for {
		f.mu.Lock()
		if f.next == len(f.ready) {
			clear(f.ready)
			f.ready, f.next = f.ready[:0], 0
			f.active--
			f.mu.Unlock()
			return
		}
		end := min(f.next+flushBatch, len(f.ready))
		batch = append(batch[:0], f.ready[f.next:end]...)
		clear(f.ready[f.next:end])
		f.next = end
		f.mu.Unlock()
		for _, t := range batch {
			bufs = t.writeReady(bufs)
		}
	}
}
