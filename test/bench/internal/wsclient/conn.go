// Package wsclient is the load generator's WebSocket client on gobwas/ws: a connection with one reader
// goroutine that hands each data frame to a callback without copying it, writes of pre-built frames,
// and a pool that dials many connections in parallel and redials those that dropped.
//
// Client frames are masked with the all-zero key, which leaves the payload unchanged, so a frame can be
// built once and written many times; servers must unmask but cannot tell the difference.
package wsclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

const (
	// maxFrame bounds a frame from a server: the systems under test send at most 1 MiB.
	maxFrame = 1 << 20
	// readBuffer is each connection's read buffer; a frame that fits is handed out without a copy.
	readBuffer = 8 << 10
	// writeTimeout bounds one write: a server that stops reading fails the send instead of hanging it.
	writeTimeout = 5 * time.Second
	// DefaultTimeout bounds the TCP connect and the WebSocket handshake when Options.Timeout is zero.
	DefaultTimeout = 10 * time.Second
)

// Options configure a dial.
type Options struct {
	// Protocols are offered in Sec-WebSocket-Protocol; the first is expected back when not empty.
	Protocols []string
	// ReceiveBuffer, when positive, sets SO_RCVBUF before connecting. A small one makes the backlog of a
	// connection that does not read reach the server quickly (slow-consumer scenarios).
	ReceiveBuffer int
	// Timeout bounds the connect and the handshake (DefaultTimeout when zero).
	Timeout time.Duration
}

// Conn is a client connection. Write and Send are safe for concurrent use; ReadFrame is for the
// set-up exchange before Start, from one goroutine.
type Conn struct {
	nc      net.Conn
	br      *bufio.Reader
	hbuf    [ws.MaxHeaderSize - 2]byte
	big     []byte // payloads larger than the read buffer
	pending int    // bytes of the last handed-out frame still to discard from br

	wmu     sync.Mutex
	scratch []byte // guarded by wmu

	done    chan struct{}
	started atomic.Bool
	closed  atomic.Bool
	err     error // why the read loop ended; read after done is closed
}

// Dial opens a WebSocket connection to url (ws://).
func Dial(ctx context.Context, url string, o Options) (*Conn, error) {
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	var body []byte
	d := ws.Dialer{
		Protocols:      o.Protocols,
		Timeout:        timeout,
		ReadBufferSize: readBuffer,
		OnStatusError: func(_ int, _ []byte, resp io.Reader) {
			// The body says why (kwps: 401, 503 with a reason); its length bounds the read, as the
			// connection stays open.
			r, err := http.ReadResponse(bufio.NewReader(resp), nil)
			if err != nil {
				return
			}
			defer r.Body.Close()
			body, _ = io.ReadAll(io.LimitReader(r.Body, 512))
		},
	}
	if o.ReceiveBuffer > 0 {
		d.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			nd := net.Dialer{Control: receiveBuffer(o.ReceiveBuffer)}
			return nd.DialContext(ctx, network, addr)
		}
	}
	nc, br, hs, err := d.Dial(ctx, url)
	if err != nil {
		var status ws.StatusError
		if errors.As(err, &status) && len(body) > 0 {
			return nil, fmt.Errorf("%w: %s", err, bytes.TrimSpace(body))
		}
		return nil, err
	}
	if len(o.Protocols) > 0 && hs.Protocol != o.Protocols[0] {
		nc.Close()
		return nil, fmt.Errorf("server chose subprotocol %q, want %q", hs.Protocol, o.Protocols[0])
	}
	if br == nil {
		br = bufio.NewReaderSize(nc, readBuffer)
	}
	return &Conn{nc: nc, br: br, done: make(chan struct{})}, nil
}

// ReadFrame returns the payload of the next data frame, answering pings on the way, within timeout.
// The payload is valid until the next read. Use it only before Start.
func (c *Conn) ReadFrame(timeout time.Duration) ([]byte, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(timeout))
	defer func() { _ = c.nc.SetReadDeadline(time.Time{}) }()
	return c.next()
}

// Start runs the read loop: onFrame gets the payload of every data frame, valid only until it returns.
// The loop ends when the connection fails or is closed. Call it once; a connection that is never
// started is a consumer that stopped reading: the server's frames pile up in the socket buffers.
func (c *Conn) Start(onFrame func(payload []byte)) {
	c.started.Store(true)
	go func() { // exits when the socket fails or Close closes it
		defer close(c.done)
		for {
			p, err := c.next()
			if err != nil {
				c.err = err
				c.nc.Close()
				return
			}
			onFrame(p)
		}
	}()
}

// next reads frames until a data frame, answering pings and skipping pongs.
func (c *Conn) next() ([]byte, error) {
	for {
		if c.pending > 0 {
			if _, err := c.br.Discard(c.pending); err != nil {
				return nil, err
			}
			c.pending = 0
		}
		h, err := ws.ReadHeaderBuffer(c.br, c.hbuf[:])
		if err != nil {
			return nil, err
		}
		if h.Length > maxFrame {
			return nil, fmt.Errorf("frame of %d bytes is over the %d limit", h.Length, maxFrame)
		}
		p, err := c.payload(int(h.Length))
		if err != nil {
			return nil, err
		}
		if h.Masked {
			ws.Cipher(p, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpPing:
			if err := c.write(pongFrame(p)); err != nil {
				return nil, err
			}
		case ws.OpPong:
		case ws.OpClose:
			return nil, io.EOF
		default:
			return p, nil
		}
	}
}

// payload returns the next n bytes: from the read buffer without copying when they fit (discarded on
// the next read), else copied into a connection-owned buffer.
func (c *Conn) payload(n int) ([]byte, error) {
	if n <= c.br.Size() {
		p, err := c.br.Peek(n)
		if err != nil {
			return nil, err
		}
		c.pending = n
		return p, nil
	}
	if cap(c.big) < n {
		c.big = make([]byte, n)
	}
	p := c.big[:n]
	_, err := io.ReadFull(c.br, p)
	return p, err
}

// Write writes a whole pre-built client frame (see Frame).
func (c *Conn) Write(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(frame)
}

func (c *Conn) write(frame []byte) error { return c.Write(frame) }

func (c *Conn) writeLocked(frame []byte) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.nc.Write(frame)
	return err
}

// Send writes t stamped with step and the current time (see the latency package).
func (c *Conn) Send(t *Template, step uint32) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.scratch = t.stamp(c.scratch[:0], step)
	return c.writeLocked(c.scratch)
}

// Done is closed when the read loop ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Alive reports whether the connection is open and its read loop running or not started.
func (c *Conn) Alive() bool {
	if c.closed.Load() {
		return false
	}
	if !c.started.Load() {
		return true
	}
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Err is why the read loop ended, nil while it runs.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close closes the socket (without a closing handshake: the servers see the peer go away).
func (c *Conn) Close() {
	if c.closed.CompareAndSwap(false, true) {
		c.nc.Close()
	}
}
