package gateway

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// readBufferSize is the read buffer of a connection read by its own goroutine: large enough that a
// small frame arrives in one read, small enough to keep idle connections cheap. (Polled connections
// borrow a bigger buffer only while bytes arrive.)
const readBufferSize = 512

// prefixedConn replays bytes the HTTP server had already buffered before the upgrade.
type prefixedConn struct {
	buffered []byte
	net.Conn
}

func (p *prefixedConn) Read(b []byte) (int, error) {
	if len(p.buffered) > 0 {
		n := copy(b, p.buffered)
		p.buffered = p.buffered[n:]
		if len(p.buffered) == 0 {
			p.buffered = nil
		}
		return n, nil
	}
	return p.Conn.Read(b)
}

// Message buffers by size class; a handler may use a message only until it returns.
var msgPools = [...]struct {
	size int
	pool sync.Pool
}{{size: 1 << 9}, {size: 1 << 12}, {size: 1 << 15}, {size: 1 << 18}, {size: 1 << 20}}

func getMsgBuf(n int) []byte {
	for i := range msgPools {
		if n <= msgPools[i].size {
			if b, ok := msgPools[i].pool.Get().(*[]byte); ok {
				return (*b)[:n]
			}
			return make([]byte, n, msgPools[i].size)
		}
	}
	return make([]byte, n)
}

func putMsgBuf(b []byte) {
	for i := range msgPools {
		if cap(b) == msgPools[i].size {
			b = b[:0]
			msgPools[i].pool.Put(&b)
			return
		}
	}
}

// newTransport makes the transport of socket nc, read from src. With the gateway's poller (Linux, plain
// TCP) an idle connection has no goroutine and no read buffer, and a short read session runs when bytes
// arrive; otherwise one goroutine reads until the transport ends. Reading starts with startReading,
// once the transport is in place.
func newTransport(c *Conn, nc net.Conn, src *prefixedConn) *transport {
	t := &transport{c: c, nc: nc, src: src}
	t.refs.Store(2)
	if p := c.g.poller.Load(); p != nil && nc != nil {
		p.add(t)
	}
	return t
}

// startReading starts reading the transport's frames.
func (t *transport) startReading() {
	if t.polled {
		if len(t.src.buffered) > 0 {
			// Bytes that came with the upgrade request never make the socket readable again.
			t.rstate.Store(readerReading)
			go t.session()
			return
		}
		t.arm()
		return
	}
	go t.readLoop()
}

// readLoop is the goroutine mode: it reads until the transport ends.
func (t *transport) readLoop() {
	br := bufio.NewReaderSize(t.src, readBufferSize)
	t.rstate.Store(readerReading)
	_, clientClosed := t.readFrames(br, false)
	t.endReading(br, clientClosed)
}

// Reader states of a polled transport: idle (armed in the poller), reading (a session runs), ended.
const (
	readerIdle int32 = iota
	readerReading
	readerEnded
)

// sessionReadTimeout bounds how long a read session waits for the rest of a frame it has begun.
const sessionReadTimeout = 30 * time.Second

var sessionBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// session reads what has arrived on a polled transport: whole messages, until nothing is buffered,
// then it re-arms the poller and ends. A frame that is still arriving is waited for (bounded).
func (t *transport) session() {
	br := sessionBufs.Get().(*bufio.Reader)
	br.Reset(t.src)
	_ = t.nc.SetReadDeadline(time.Now().Add(sessionReadTimeout))
	ended, clientClosed := t.readFrames(br, true)
	if ended {
		t.endReading(br, clientClosed)
		br.Reset(nil)
		sessionBufs.Put(br)
		return
	}
	br.Reset(nil)
	sessionBufs.Put(br)
	t.rstate.Store(readerIdle)
	t.arm()
	// The socket may have been closed while this session ran: then nobody else ends the reader.
	if t.closing.Load() && t.rstate.CompareAndSwap(readerIdle, readerEnded) {
		t.endReading(nil, false)
	}
}

// endReading hands the transport back to its connection, discards what the peer still sends until
// it answers our close or closeWait passes (so the close frame is not lost to a reset), and releases
// the reader's hold on the socket.
func (t *transport) endReading(br *bufio.Reader, clientClosed bool) {
	t.rstate.Store(readerEnded)
	t.c.transportEnded(t, clientClosed)
	if br != nil {
		_ = t.nc.SetReadDeadline(time.Now().Add(closeWait))
		_, _ = io.Copy(io.Discard, io.LimitReader(br, int64(t.c.g.opts.MaxMessageBytes)+readBufferSize))
	}
	t.release()
}

// readFrames reads until the socket fails or a close ends the transport (ended), or, in a session,
// until no whole message is left buffered. clientClosed reports that the client sent a close frame.
// A message split over several frames is assembled in t.msg, which survives between sessions.
func (t *transport) readFrames(br *bufio.Reader, session bool) (ended, clientClosed bool) {
	c := t.c
	maxLen := c.g.opts.MaxMessageBytes
	defer func() {
		if ended && t.msg != nil {
			putMsgBuf(t.msg)
			t.msg, t.msgOp = nil, 0
		}
	}()
	for first := true; ; first = false {
		// A session reads at least one frame (the socket is readable), then stops when nothing is
		// left buffered.
		if session && !first && br.Buffered() == 0 {
			return false, false
		}
		h, err := ws.ReadHeader(br)
		if err != nil {
			return true, false
		}
		c.touch()
		if !h.Masked {
			c.Close(protocolError("Client frames must be masked."))
			return true, false
		}
		if h.Rsv != 0 {
			c.Close(protocolError("Reserved bits are set but no extension was negotiated."))
			return true, false
		}
		if h.OpCode.IsControl() {
			if done, byClient := t.control(br, h); done {
				return true, byClient
			}
			continue
		}
		switch {
		case h.OpCode == ws.OpContinuation && t.msgOp == 0:
			c.Close(protocolError("Continuation frame without a message to continue."))
			return true, false
		case h.OpCode != ws.OpContinuation && t.msgOp != 0:
			c.Close(protocolError("A new message started before the previous one ended."))
			return true, false
		case h.OpCode != ws.OpContinuation && h.OpCode != ws.OpText && h.OpCode != ws.OpBinary:
			c.Close(protocolError("Unknown opcode."))
			return true, false
		}
		if h.Length > int64(maxLen-len(t.msg)) {
			c.Close(closeTooBig)
			return true, false
		}
		start := len(t.msg)
		if t.msg == nil {
			t.msg = getMsgBuf(int(h.Length))
		} else {
			t.msg = growMsg(t.msg, start+int(h.Length))
		}
		if _, err := io.ReadFull(br, t.msg[start:]); err != nil {
			return true, false
		}
		ws.Cipher(t.msg[start:], h.Mask, 0)
		if h.OpCode != ws.OpContinuation {
			t.msgOp = h.OpCode
		}
		if !h.Fin {
			continue
		}
		msg, op := t.msg, t.msgOp
		t.msg, t.msgOp = nil, 0
		if op == ws.OpText && !utf8.Valid(msg) {
			putMsgBuf(msg)
			c.Close(invalidMessage("Text frames must be valid UTF-8."))
			return true, false
		}
		c.g.metrics.received(c, len(msg))
		cause, ok := c.handle(op == ws.OpText, msg)
		putMsgBuf(msg)
		if !ok {
			c.Close(cause)
			return true, false
		}
	}
}

func growMsg(b []byte, n int) []byte {
	if n <= cap(b) {
		return b[:n]
	}
	nb := getMsgBuf(n)
	copy(nb, b)
	putMsgBuf(b)
	return nb
}

// control handles ping, pong and close frames on t. done reports that the transport ends, byClient
// that the client closed it.
func (t *transport) control(br *bufio.Reader, h ws.Header) (done, byClient bool) {
	if !h.Fin || h.Length > 125 {
		t.c.Close(protocolError("Control frames must be final and at most 125 bytes."))
		return true, false
	}
	var buf [125]byte
	p := buf[:h.Length]
	if _, err := io.ReadFull(br, p); err != nil {
		return true, false
	}
	ws.Cipher(p, h.Mask, 0)
	switch h.OpCode {
	case ws.OpPing:
		t.c.sent(t, t.enqueue(outFrame{head: newFrame(ws.OpPong, p)}, false))
	case ws.OpClose:
		code := ws.StatusNoStatusRcvd
		if len(p) >= 2 {
			code = ws.StatusCode(binary.BigEndian.Uint16(p))
		}
		// Echo the close and end; the client initiated it.
		echo := closeFrame(ws.StatusNormalClosure, "")
		if code != ws.StatusNoStatusRcvd {
			echo = closeFrame(code, "")
		}
		t.finish(echo)
		return true, true
	}
	return false, false
}
