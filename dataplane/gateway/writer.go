package gateway

import (
	"net"
	"sync"
	"time"
)

// outFrame is one queued frame: head, body and tail are written back to back. Bodies (and, for
// non-reliable protocols, whole frames) are shared by every recipient of a message and never modified.
type outFrame struct {
	head, body, tail []byte
	seq              uint64 // reliable sequence ID, 0 for anything else
	expires          int64  // unix nanoseconds after which the frame is dropped unsent; 0 never
}

func (f *outFrame) size() int { return len(f.head) + len(f.body) + len(f.tail) }

// outQueue is a connection's bounded outbound queue, drained by at most one writer goroutine that
// exists only while there is something to write, so an idle connection costs no goroutine here.
type outQueue struct {
	mu      sync.Mutex
	items   []outFrame
	bytes   int
	writing bool
	closed  bool   // no more frames are accepted
	final   []byte // written after items, then the socket is closed
}

var framesPool = sync.Pool{New: func() any { s := make([]outFrame, 0, 16); return &s }}

// putFrames returns an emptied queue slice to the pool; huge ones are left to the GC.
func putFrames(s []outFrame) {
	if s == nil || cap(s) > 4096 {
		return
	}
	s = s[:0]
	framesPool.Put(&s)
}

// enqueueResult says what enqueue did.
type enqueueResult uint8

const (
	enqueued enqueueResult = iota
	dropped                // the queue is closed
	overflow               // the consumer is too slow: the caller must disconnect it
)

// enqueue appends f and starts the writer if none runs. It never blocks on the socket.
func (c *Conn) enqueue(f outFrame) enqueueResult {
	c.out.mu.Lock()
	res, start := c.enqueueLocked(f)
	c.out.mu.Unlock()
	if start {
		go c.writeLoop()
	}
	return res
}

// enqueueLocked appends f; the caller holds c.out.mu and starts the writer when start is true.
func (c *Conn) enqueueLocked(f outFrame) (res enqueueResult, start bool) {
	q := &c.out
	if q.closed {
		return dropped, false
	}
	if len(q.items) >= c.g.opts.MaxQueueMessages || q.bytes+f.size() > c.g.opts.MaxQueueBytes {
		return overflow, false
	}
	if q.items == nil {
		q.items = (*framesPool.Get().(*[]outFrame))[:0]
	}
	q.items = append(q.items, f)
	q.bytes += f.size()
	start = !q.writing
	q.writing = true
	return enqueued, start
}

// send enqueues f and disconnects the connection if it cannot keep up.
func (c *Conn) send(f outFrame) {
	c.sent(c.enqueue(f))
}

// sent completes a send: an overflowing consumer is disconnected.
func (c *Conn) sent(res enqueueResult) {
	if res == overflow {
		c.g.metrics.slowConsumer(c)
		c.abort(closeSlowConsumer)
	}
}

// finish queues a last frame (a close frame, or nil for none), refuses anything after it, and lets the
// writer close the socket once everything before it is written.
func (c *Conn) finish(final []byte) {
	q := &c.out
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	q.final = final
	start := !q.writing
	q.writing = true
	q.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

// writeLoop drains the queue, writing each batch with one vectored write, and exits when the queue is
// empty. It is the only goroutine that writes to the socket.
func (c *Conn) writeLoop() {
	q := &c.out
	var (
		batch []outFrame
		bufs  net.Buffers
	)
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			closed, final := q.closed, q.final
			q.final = nil
			q.writing = false
			putFrames(q.items)
			q.items = nil
			q.mu.Unlock()
			putFrames(batch)
			if closed {
				c.writeFinal(final)
			}
			return
		}
		if batch == nil {
			batch = (*framesPool.Get().(*[]outFrame))[:0]
		}
		batch, q.items = q.items, batch
		q.bytes = 0
		q.mu.Unlock()

		now := time.Now().UnixNano()
		bufs = bufs[:0]
		n := 0
		for i := range batch {
			f := &batch[i]
			if f.expires != 0 && now > f.expires {
				continue
			}
			bufs = appendNonEmpty(bufs, f.head, f.body, f.tail)
			n++
		}
		var err error
		if len(bufs) > 0 {
			_ = c.nc.SetWriteDeadline(time.Now().Add(c.g.opts.WriteTimeout))
			out := bufs // WriteTo consumes its receiver; keep bufs for reuse
			var written int64
			written, err = out.WriteTo(c.nc)
			c.g.metrics.written(c, n, written)
		}
		clear(batch)
		batch = batch[:0]
		if err != nil {
			c.writeFailed(err)
			return
		}
	}
}

func appendNonEmpty(bufs net.Buffers, parts ...[]byte) net.Buffers {
	for _, p := range parts {
		if len(p) > 0 {
			bufs = append(bufs, p)
		}
	}
	return bufs
}

// closeWait bounds how long a closing connection waits for the peer's answer to our close frame.
const closeWait = 2 * time.Second

// writeFinal ends the write side: after a close frame it half-closes the socket and gives the peer
// closeWait to answer, so that unread input does not turn the close into a reset that loses the frame.
// The socket itself is closed once the reader is done too (see release).
func (c *Conn) writeFinal(final []byte) {
	if final != nil {
		_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.nc.Write(final); err == nil {
			if hc, ok := c.nc.(interface{ CloseWrite() error }); ok {
				_ = hc.CloseWrite()
			}
		}
		_ = c.nc.SetReadDeadline(time.Now().Add(closeWait))
	}
	c.release()
}

// writeFailed handles a failed or timed-out write: the peer is gone or too slow.
func (c *Conn) writeFailed(err error) {
	q := &c.out
	q.mu.Lock()
	q.closed = true
	q.writing = false
	if q.items != nil {
		clear(q.items)
		q.items = q.items[:0]
	}
	q.mu.Unlock()
	var ne net.Error
	if asNetError(err, &ne) && ne.Timeout() {
		c.g.metrics.slowConsumer(c)
		c.setCloseReason(closeSlowConsumer)
	}
	c.closeSocket()
}
