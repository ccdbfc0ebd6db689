package gateway

// sendSequenced queues a data message for a reliable connection: it gets the next sequenceId, and its
// per-connection head (and tail) wrap the shared body.
func (c *Conn) sendSequenced(body []byte, expires int64) {
	cd := codecs[c.kind]
	q := &c.out
	q.mu.Lock()
	seq := c.seq + 1
	prefix, from, tail := cd.sequenced(make([]byte, 0, 32), body, seq)
	n := len(prefix) + len(body) - from + len(tail)
	head := make([]byte, 0, frameHeaderSize(n)+len(prefix))
	head = append(appendFrameHeader(head, cd.op, n), prefix...)
	res, start := c.enqueueLocked(outFrame{head: head, body: body[from:], tail: tail, seq: seq, expires: expires})
	if res == enqueued {
		c.seq = seq
	}
	q.mu.Unlock()
	if start {
		go c.writeLoop()
	}
	c.sent(res)
}

// sequenceAck records the client's cumulative acknowledgement (reliable protocols).
func (c *Conn) sequenceAck(uint64) {}
