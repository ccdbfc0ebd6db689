package gateway

import "github.com/gobwas/ws"

// Bounds of a reliable connection's replay buffer (SPEC §3.2): beyond them the connection is closed
// with 1008 and cannot be recovered.
const (
	maxReplayMessages = 1000
	maxReplayBytes    = 16 << 20
)

var closeReplayFull = closeCause{ws.StatusPolicyViolation, "The reliable message buffer is full.", CategoryThrottled}

// reliableState is a reliable connection's numbering and the data messages the client has not
// acknowledged yet, oldest first. Guarded by Conn.rmu.
type reliableState struct {
	seq   uint64 // last sequenceId assigned
	buf   []outFrame
	bytes int
}

func (r *reliableState) clear() {
	clear(r.buf)
	r.buf, r.bytes = nil, 0
}

// ack drops every buffered message with a sequenceId up to seq (cumulative).
func (r *reliableState) ack(seq uint64) {
	i := 0
	for i < len(r.buf) && r.buf[i].seq <= seq {
		r.bytes -= r.buf[i].size()
		i++
	}
	if i == 0 {
		return
	}
	n := copy(r.buf, r.buf[i:])
	clear(r.buf[n:])
	r.buf = r.buf[:n]
	if n == 0 && cap(r.buf) > 64 {
		r.buf = nil // an idle connection keeps no big buffer
	}
}

// sendSequenced queues a data message for a reliable connection: it gets the next sequenceId, is kept
// until the client acknowledges it, and its per-connection head (and tail) wrap the shared body.
func (c *Conn) sendSequenced(body []byte, expires int64, id msgID) {
	c.rmu.Lock()
	if c.over {
		c.rmu.Unlock()
		return
	}
	if c.restoring {
		// The numbering is not known until the state arrives from the other process.
		full := len(c.pending) >= maxReplayMessages
		if !full {
			c.pending = append(c.pending, pendingMessage{body: body, expires: expires, id: id})
		}
		c.rmu.Unlock()
		if full {
			c.abort(closeReplayFull)
		}
		return
	}
	if c.isLateCopy(id) {
		c.rmu.Unlock()
		return
	}
	t, res, ok := c.sequenceLocked(body, expires, id)
	c.rmu.Unlock()
	if !ok {
		c.g.metrics.slowConsumer(c)
		c.Close(closeReplayFull)
		return
	}
	if t != nil {
		c.sent(t, res)
	}
}

// sequenceLocked numbers a message, keeps it for replay and queues it on the current transport. ok is
// false when the replay buffer is full. The caller holds c.rmu.
func (c *Conn) sequenceLocked(body []byte, expires int64, id msgID) (t *transport, res enqueueResult, ok bool) {
	cd := codecs[c.kind]
	seq := c.rel.seq + 1
	prefix, from, tail := cd.sequenced(make([]byte, 0, 32), body, seq)
	n := len(prefix) + len(body) - from + len(tail)
	head := make([]byte, 0, frameHeaderSize(n)+len(prefix))
	head = append(appendFrameHeader(head, cd.op, n), prefix...)
	f := outFrame{head: head, body: body[from:], tail: tail, seq: seq, expires: expires, id: id}
	if len(c.rel.buf) >= maxReplayMessages || c.rel.bytes+f.size() > maxReplayBytes {
		return nil, dropped, false
	}
	c.rel.seq = seq
	c.rel.buf = append(c.rel.buf, f)
	c.rel.bytes += f.size()
	t = c.cur.Load()
	res = dropped
	if t != nil {
		res = t.enqueue(f, false)
	}
	return t, res, true
}

// sequenceAck records the client's cumulative acknowledgement (reliable protocols).
func (c *Conn) sequenceAck(seq uint64) {
	if !c.kind.Reliable() {
		return
	}
	c.rmu.Lock()
	c.rel.ack(seq)
	c.rmu.Unlock()
}

// attach makes t the connection's transport after a recovery: the client gets the connected message
// again (with a fresh reconnection token) and then every message it has not acknowledged, in order,
// before anything newer. It reports false when the session is already over.
func (c *Conn) attach(t *transport) bool {
	c.rmu.Lock()
	if c.over || c.restoring {
		c.rmu.Unlock()
		return false
	}
	old := c.cur.Swap(t)
	c.detachedAt.Store(0)
	c.mu.Lock()
	c.hasReason = false
	c.mu.Unlock()
	c.touch()
	t.enqueue(outFrame{head: c.connectedFrame()}, true)
	for _, f := range c.rel.buf {
		t.enqueue(f, true)
	}
	c.rmu.Unlock()
	if old != nil {
		old.closeNow() // its reader sees it was replaced and only releases it
	}
	return true
}

// connectedFrame is the connected system message for this connection's protocol.
func (c *Conn) connectedFrame() []byte {
	token := ""
	if c.kind.Reliable() {
		token = c.g.reconnectionToken(c)
	}
	return systemFrame(c.kind, codecs[c.kind].connected(nil, c.id, c.userID, c.hasUser, token))
}

// sessionExpired reports whether a reliable session has waited for recovery longer than allowed.
func (c *Conn) sessionExpired(now int64) bool {
	d := c.detachedAt.Load()
	return d != 0 && now-d > c.g.opts.ReliableSessionTimeout.Nanoseconds()
}
