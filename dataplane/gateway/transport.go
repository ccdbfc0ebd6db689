package gateway

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

// transport is one WebSocket of a connection: its socket, its bounded outbound queue and the writer
// that drains it. A connection of a reliable protocol outlives its transports: when one drops, the
// next one (a recovery) continues the same session.
type transport struct {
	c         *Conn
	nc        net.Conn
	src       *prefixedConn // what the reader reads: bytes buffered at the upgrade, then nc
	out       outQueue
	refs      atomic.Int32 // the reader and the writer's end; the socket closes when both released
	closeOnce sync.Once

	writeDeadline int64 // unix nanoseconds; the writer's own (one writer at a time)
	// raw writes without blocking, for the flusher; nil when the transport is not polled.
	raw syscall.RawConn

	// Reader state: a message being assembled from fragments (it may span read sessions), and for a
	// polled transport its descriptor and whether a session runs (readerIdle, readerReading, readerEnded).
	msg     []byte
	msgOp   ws.OpCode
	fd      int
	polled  bool
	rstate  atomic.Int32
	closing atomic.Bool
}

// outFrame is one queued frame: head, body and tail are written back to back. Bodies (and, for
// non-reliable protocols, whole frames) are shared by every recipient of a message and never modified.
type outFrame struct {
	head, body, tail []byte
	seq              uint64 // reliable sequence ID, 0 for anything else
	expires          int64  // unix nanoseconds after which the frame is dropped unsent; 0 never
	id               msgID  // reliable: the message, to recognize it when a session moves
}

func (f *outFrame) size() int { return len(f.head) + len(f.body) + len(f.tail) }

// outQueue is a transport's bounded outbound queue, drained by at most one writer at a time (writing):
// a flusher's turn (polled transports) or a writer goroutine, which exists only while there is
// something to write, so an idle connection costs no goroutine here.
type outQueue struct {
	mu      sync.Mutex
	items   []outFrame
	bytes   int
	writing bool
	closed  bool   // no more frames are accepted
	final   []byte // written after items, then the write side is done
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

// enqueue appends f and starts the writer if none runs. It never blocks on the socket. A forced frame
// (a reliable resend) is not counted against the queue's bounds.
func (t *transport) enqueue(f outFrame, force bool) enqueueResult {
	q := &t.out
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return dropped
	}
	opts := &t.c.g.opts
	if !force && len(q.items) > 0 && (len(q.items) >= opts.MaxQueueMessages || q.bytes+f.size() > opts.MaxQueueBytes) {
		q.mu.Unlock()
		return overflow
	}
	if q.items == nil {
		q.items = (*framesPool.Get().(*[]outFrame))[:0]
	}
	q.items = append(q.items, f)
	q.bytes += f.size()
	start := !q.writing
	q.writing = true
	q.mu.Unlock()
	if start {
		t.startWriter()
	}
	return enqueued
}

// startWriter hands the queue, whose writer the caller has just become, to a flusher (polled
// transports) or to a writer goroutine.
func (t *transport) startWriter() {
	if t.raw != nil {
		t.c.g.flush.schedule(t)
	} else {
		go t.writeLoop()
	}
}

// stopWriting gives up being the queue's writer when nothing is left to write and the queue is open,
// and reports whether it did.
func (t *transport) stopWriting() bool {
	q := &t.out
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) > 0 || q.closed {
		return false
	}
	q.writing = false
	return true
}

// hold makes the queue take frames without writing them, until sendHeld.
func (t *transport) hold() {
	t.out.mu.Lock()
	t.out.writing = true
	t.out.mu.Unlock()
}

// sendHeld writes first (the upgrade response) and then lets the writer take over what was queued
// meanwhile.
func (t *transport) sendHeld(first []byte) {
	if !writeUpgradeResponse(t.nc, first) {
		t.writeFailed(errUpgradeResponse)
		return
	}
	if !t.stopWriting() {
		t.startWriter()
	}
}

var errUpgradeResponse = errors.New("writing the upgrade response failed")

// finish queues a last frame (a close frame, or nil for none), refuses anything after it, and lets the
// writer end the write side once everything before it is written.
func (t *transport) finish(final []byte) {
	q := &t.out
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
		go t.writeLoop()
	}
}

// closeNow refuses further frames and closes the socket at once, without flushing.
func (t *transport) closeNow() {
	t.out.mu.Lock()
	t.out.closed = true
	t.out.mu.Unlock()
	t.closeSocket()
}

// writeLoop drains the queue, writing each batch with one vectored write, and exits when the queue is
// empty. It is the only goroutine that writes to the socket.
func (t *transport) writeLoop() {
	q := &t.out
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
				t.writeFinal(final)
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
		var n int
		bufs, n, _ = appendBatch(bufs[:0], batch, now)
		var err error
		if len(bufs) > 0 {
			t.refreshWriteDeadline(now)
			out := bufs // WriteTo consumes its receiver; keep bufs for reuse
			var written int64
			written, err = out.WriteTo(t.nc)
			t.c.g.metrics.written(t.c, n, written)
		}
		clear(batch)
		batch = batch[:0]
		if err != nil {
			t.writeFailed(err)
			return
		}
	}
}

// refreshWriteDeadline keeps a write deadline between half and all of WriteTimeout ahead. Setting it
// for every write cost about 4% of a fan-out's CPU (pprof, S3 of the bench suite); refreshing it only
// when half is used keeps the bound: a stalled write fails within WriteTimeout.
func (t *transport) refreshWriteDeadline(now int64) {
	timeout := t.c.g.opts.WriteTimeout.Nanoseconds()
	if now < t.writeDeadline-timeout/2 {
		return
	}
	t.writeDeadline = now + timeout
	_ = t.nc.SetWriteDeadline(time.Unix(0, t.writeDeadline))
}

// writeReady is a flusher's turn as t's writer: it writes what is queued without blocking and stops
// being the writer when the queue is empty. Frames the socket cannot take now, and a closed queue's
// last frame, go to a writer goroutine (writeLoop). bufs is the caller's scratch, returned for reuse.
func (t *transport) writeReady(bufs net.Buffers) net.Buffers {
	q := &t.out
	q.mu.Lock()
	if q.closed || len(q.items) == 0 {
		q.mu.Unlock()
		go t.writeLoop()
		return bufs
	}
	batch := q.items
	q.items, q.bytes = nil, 0
	q.mu.Unlock()

	now := time.Now().UnixNano()
	bufs, n, total := appendBatch(bufs[:0], batch, now)
	clear(batch)
	putFrames(batch)
	if t.writeDeadline != 0 {
		// A writer goroutine set a deadline once: expired, it would fail this write too.
		t.refreshWriteDeadline(now)
	}
	written, err := t.writeNow(bufs)
	if written > 0 {
		t.c.g.metrics.written(t.c, n, int64(written))
	}
	var rest []byte
	if err == nil && written < total {
		rest = unwritten(bufs, written, total)
	}
	clear(bufs)
	switch {
	case err != nil:
		t.writeFailed(err)
	case rest != nil:
		// The socket is full: the rest, as one frame, goes first, and a writer goroutine waits.
		q.mu.Lock()
		items := (*framesPool.Get().(*[]outFrame))[:0]
		items = append(items, outFrame{head: rest})
		items = append(items, q.items...)
		putFrames(q.items)
		q.items = items
		q.bytes += len(rest)
		q.mu.Unlock()
		go t.writeLoop()
	case !t.stopWriting():
		// More arrived meanwhile (or the queue closed): stay the writer, behind the others.
		t.startWriter()
	}
	return bufs
}

// appendBatch appends the parts of batch's frames that have not expired by now to bufs, and returns
// how many frames and bytes that is.
func appendBatch(bufs net.Buffers, batch []outFrame, now int64) (_ net.Buffers, frames, size int) {
	for i := range batch {
		f := &batch[i]
		if f.expires != 0 && now > f.expires {
			continue
		}
		bufs = appendNonEmpty(bufs, f.head, f.body, f.tail)
		size += f.size()
		frames++
	}
	return bufs, frames, size
}

// unwritten copies what follows the first written of bufs' total bytes.
func unwritten(bufs net.Buffers, written, total int) []byte {
	rest := make([]byte, 0, total-written)
	for _, b := range bufs {
		skip := min(written, len(b))
		written -= skip
		rest = append(rest, b[skip:]...)
	}
	return rest
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
func (t *transport) writeFinal(final []byte) {
	if final != nil {
		_ = t.nc.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := t.nc.Write(final); err == nil {
			if hc, ok := t.nc.(interface{ CloseWrite() error }); ok {
				_ = hc.CloseWrite()
			}
		}
		_ = t.nc.SetReadDeadline(time.Now().Add(closeWait))
		if t.polled {
			// No reader waits on the socket to time it out: close it if the peer stays silent.
			time.AfterFunc(closeWait, t.closeSocket)
		}
	}
	t.release()
}

// writeFailed handles a failed or timed-out write: the peer is gone or too slow. The reader then sees
// the closed socket and ends the transport.
func (t *transport) writeFailed(err error) {
	q := &t.out
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
		t.c.g.metrics.slowConsumer(t.c)
		t.c.setCloseReason(closeSlowConsumer)
	}
	t.closeSocket()
	t.release()
}

// closeSocket closes the socket once. An idle polled transport has no reader to notice, so closing it
// ends its reader here.
func (t *transport) closeSocket() {
	t.closeOnce.Do(func() {
		t.closing.Store(true)
		if t.polled {
			t.c.g.poller.Load().remove(t)
		}
		_ = t.nc.Close()
		if t.polled && t.rstate.CompareAndSwap(readerIdle, readerEnded) {
			go t.endReading(nil, false)
		}
	})
}

// release is called once by the reader when it is done and once by the writer when the queue is
// closed and flushed; the socket is closed when both are done.
func (t *transport) release() {
	if t.refs.Add(-1) == 0 {
		t.closeSocket()
	}
}
