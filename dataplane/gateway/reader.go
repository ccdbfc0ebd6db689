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

// readBufferSize is the per-connection read buffer: large enough that a small frame arrives in one
// read, small enough to keep idle connections cheap.
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

// readLoop reads frames until the connection ends, then tears the connection down. It is the only
// goroutine that reads from the socket.
func (c *Conn) readLoop(r io.Reader) {
	br := bufio.NewReaderSize(r, readBufferSize)
	cause := c.readFrames(br)
	c.teardown(cause)
	// Discard what the peer still sends until it answers our close or closeWait passes, so the
	// close frame is not lost to a reset.
	_ = c.nc.SetReadDeadline(time.Now().Add(closeWait))
	_, _ = io.Copy(io.Discard, io.LimitReader(br, int64(c.g.opts.MaxMessageBytes)+readBufferSize))
	c.release()
}

// readFrames returns why reading stopped.
func (c *Conn) readFrames(br *bufio.Reader) closeCause {
	var (
		msg    []byte    // message being assembled from fragments
		msgOp  ws.OpCode // its opcode; 0 when none in progress
		maxLen = c.g.opts.MaxMessageBytes
	)
	defer func() {
		if msg != nil {
			putMsgBuf(msg)
		}
	}()
	for {
		h, err := ws.ReadHeader(br)
		if err != nil {
			return c.readError(err)
		}
		c.touch()
		if !h.Masked {
			return c.closeWith(protocolError("Client frames must be masked."))
		}
		if h.Rsv != 0 {
			return c.closeWith(protocolError("Reserved bits are set but no extension was negotiated."))
		}
		if h.OpCode.IsControl() {
			if done, cause := c.control(br, h); done {
				return cause
			}
			continue
		}
		switch {
		case h.OpCode == ws.OpContinuation && msgOp == 0:
			return c.closeWith(protocolError("Continuation frame without a message to continue."))
		case h.OpCode != ws.OpContinuation && msgOp != 0:
			return c.closeWith(protocolError("A new message started before the previous one ended."))
		case h.OpCode != ws.OpContinuation && h.OpCode != ws.OpText && h.OpCode != ws.OpBinary:
			return c.closeWith(protocolError("Unknown opcode."))
		}
		if h.Length > int64(maxLen-len(msg)) {
			return c.closeWith(closeTooBig)
		}
		start := len(msg)
		if msg == nil {
			msg = getMsgBuf(int(h.Length))
		} else {
			msg = growMsg(msg, start+int(h.Length))
		}
		if _, err := io.ReadFull(br, msg[start:]); err != nil {
			return c.readError(err)
		}
		ws.Cipher(msg[start:], h.Mask, 0)
		if h.OpCode != ws.OpContinuation {
			msgOp = h.OpCode
		}
		if !h.Fin {
			continue
		}
		if msgOp == ws.OpText && !utf8.Valid(msg) {
			return c.closeWith(invalidMessage("Text frames must be valid UTF-8."))
		}
		c.g.metrics.received(c, len(msg))
		cause, ok := c.handle(msgOp == ws.OpText, msg)
		putMsgBuf(msg)
		msg, msgOp = nil, 0
		if !ok {
			return c.closeWith(cause)
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

// control handles ping, pong and close frames. done reports that the connection ends.
func (c *Conn) control(br *bufio.Reader, h ws.Header) (done bool, cause closeCause) {
	if !h.Fin || h.Length > 125 {
		return true, c.closeWith(protocolError("Control frames must be final and at most 125 bytes."))
	}
	var buf [125]byte
	p := buf[:h.Length]
	if _, err := io.ReadFull(br, p); err != nil {
		return true, c.readError(err)
	}
	ws.Cipher(p, h.Mask, 0)
	switch h.OpCode {
	case ws.OpPing:
		c.send(outFrame{head: newFrame(ws.OpPong, p)})
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
		c.unregister()
		c.finish(echo)
		return true, closeClientClosed
	}
	return false, closeCause{}
}

// closeWith starts a server-side close with cause and returns it.
func (c *Conn) closeWith(cause closeCause) closeCause {
	c.Close(cause)
	return cause
}

// readError maps a read failure to a close cause: a socket we closed ourselves keeps the reason set by
// whoever closed it.
func (c *Conn) readError(error) closeCause {
	c.mu.Lock()
	cause, has := c.closeReason, c.hasReason
	c.mu.Unlock()
	if has {
		return cause
	}
	return closeSocketLost
}

// teardown runs once, when the read loop ends: the connection leaves every index, its socket is closed
// once the writer is done, and the disconnect is reported.
func (c *Conn) teardown(cause closeCause) {
	c.setCloseReason(cause)
	c.mu.Lock()
	cause = c.closeReason
	c.mu.Unlock()
	c.unregister()
	// The writer flushes what is queued (a close frame, say) within its write deadline, then closes.
	c.finish(nil)
	c.g.ended(c, cause)
}
