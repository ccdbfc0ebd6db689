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

// readLoop reads t's frames until the transport ends, then hands it back to the connection. It is
// the only goroutine that reads from the socket.
func (t *transport) readLoop(r io.Reader) {
	br := bufio.NewReaderSize(r, readBufferSize)
	clientClosed := t.readFrames(br)
	t.c.transportEnded(t, clientClosed)
	// Discard what the peer still sends until it answers our close or closeWait passes, so the
	// close frame is not lost to a reset.
	_ = t.nc.SetReadDeadline(time.Now().Add(closeWait))
	_, _ = io.Copy(io.Discard, io.LimitReader(br, int64(t.c.g.opts.MaxMessageBytes)+readBufferSize))
	t.release()
}

// readFrames reads until the socket fails or a close ends the transport; clientClosed reports that the
// client sent a close frame.
func (t *transport) readFrames(br *bufio.Reader) (clientClosed bool) {
	c := t.c
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
			return false
		}
		c.touch()
		if !h.Masked {
			c.Close(protocolError("Client frames must be masked."))
			return false
		}
		if h.Rsv != 0 {
			c.Close(protocolError("Reserved bits are set but no extension was negotiated."))
			return false
		}
		if h.OpCode.IsControl() {
			if done, byClient := t.control(br, h); done {
				return byClient
			}
			continue
		}
		switch {
		case h.OpCode == ws.OpContinuation && msgOp == 0:
			c.Close(protocolError("Continuation frame without a message to continue."))
			return false
		case h.OpCode != ws.OpContinuation && msgOp != 0:
			c.Close(protocolError("A new message started before the previous one ended."))
			return false
		case h.OpCode != ws.OpContinuation && h.OpCode != ws.OpText && h.OpCode != ws.OpBinary:
			c.Close(protocolError("Unknown opcode."))
			return false
		}
		if h.Length > int64(maxLen-len(msg)) {
			c.Close(closeTooBig)
			return false
		}
		start := len(msg)
		if msg == nil {
			msg = getMsgBuf(int(h.Length))
		} else {
			msg = growMsg(msg, start+int(h.Length))
		}
		if _, err := io.ReadFull(br, msg[start:]); err != nil {
			return false
		}
		ws.Cipher(msg[start:], h.Mask, 0)
		if h.OpCode != ws.OpContinuation {
			msgOp = h.OpCode
		}
		if !h.Fin {
			continue
		}
		if msgOp == ws.OpText && !utf8.Valid(msg) {
			c.Close(invalidMessage("Text frames must be valid UTF-8."))
			return false
		}
		c.g.metrics.received(c, len(msg))
		cause, ok := c.handle(msgOp == ws.OpText, msg)
		putMsgBuf(msg)
		msg, msgOp = nil, 0
		if !ok {
			c.Close(cause)
			return false
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
