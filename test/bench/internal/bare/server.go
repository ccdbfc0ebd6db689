// Package bare is the benchmark's floor: the smallest WebSocket server that does what the scenarios
// need, on gobwas/ws, so that the cost of a real protocol and routing shows against it. It has no
// subprotocol, no authentication and no queues: a broadcast encodes its frame once and writes it to
// each member with one write per delivery, from the sender's goroutine.
//
// A client joins groups with the query (?g=a&g=b) and sends text frames whose first byte is a command:
//
//	E<anything>          the server sends the same payload back
//	B<group>\n<data>     the server sends data to every member of group (the sender too, if a member)
//
// The server pings every connection every keepalive interval.
package bare

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

const (
	// maxFrame bounds a client frame.
	maxFrame = 1 << 20
	// writeTimeout bounds one write; a member that cannot take a frame in that time is disconnected,
	// and until then it holds up the broadcast it is part of (this server has no queues).
	writeTimeout = 100 * time.Millisecond
	// handshakeTimeout bounds the upgrade.
	handshakeTimeout = 10 * time.Second
	readBuffer       = 4 << 10
)

// Server is a bare WebSocket server. Its zero value is not usable; use New.
type Server struct {
	keepalive time.Duration

	mu     sync.RWMutex
	groups map[string]*group
	conns  map[*conn]struct{}
}

type group struct {
	mu      sync.RWMutex
	members map[*conn]struct{}
}

type conn struct {
	nc     net.Conn
	groups []string
	wmu    sync.Mutex
	closed bool // guarded by wmu
}

// New returns a server that pings its connections every keepalive (none when zero).
func New(keepalive time.Duration) *Server {
	return &Server{keepalive: keepalive, groups: map[string]*group{}, conns: map[*conn]struct{}{}}
}

// Serve accepts connections on ln until ctx ends, then closes ln and every connection.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // exits with ctx
		<-ctx.Done()
		ln.Close()
		s.closeAll()
	}()
	if s.keepalive > 0 {
		go s.pingLoop(ctx)
	}
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go s.handle(nc) // exits when the connection closes
	}
}

func (s *Server) handle(nc net.Conn) {
	c := &conn{nc: nc}
	u := ws.Upgrader{
		OnRequest: func(uri []byte) error {
			q, err := url.ParseRequestURI(string(uri))
			if err != nil {
				return ws.RejectConnectionError(ws.RejectionStatus(400))
			}
			c.groups = q.Query()["g"]
			return nil
		},
	}
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	if _, err := u.Upgrade(nc); err != nil {
		nc.Close()
		return
	}
	_ = nc.SetDeadline(time.Time{})
	s.register(c)
	defer s.unregister(c)
	s.readLoop(c)
}

func (s *Server) register(c *conn) {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	for _, name := range c.groups {
		g := s.groups[name]
		if g == nil {
			g = &group{members: map[*conn]struct{}{}}
			s.groups[name] = g
		}
		g.mu.Lock()
		g.members[c] = struct{}{}
		g.mu.Unlock()
	}
	s.mu.Unlock()
}

func (s *Server) unregister(c *conn) {
	c.close()
	s.mu.Lock()
	delete(s.conns, c)
	for _, name := range c.groups {
		if g := s.groups[name]; g != nil {
			g.mu.Lock()
			delete(g.members, c)
			empty := len(g.members) == 0
			g.mu.Unlock()
			if empty {
				delete(s.groups, name)
			}
		}
	}
	s.mu.Unlock()
}

// readLoop serves c's frames until it fails or closes.
func (s *Server) readLoop(c *conn) {
	br := bufio.NewReaderSize(c.nc, readBuffer)
	var hbuf [ws.MaxHeaderSize - 2]byte
	var buf []byte
	for {
		h, err := ws.ReadHeaderBuffer(br, hbuf[:])
		if err != nil || h.Length > maxFrame {
			return
		}
		if int(h.Length) > cap(buf) {
			buf = make([]byte, h.Length)
		}
		p := buf[:h.Length]
		if _, err := io.ReadFull(br, p); err != nil {
			return
		}
		if h.Masked {
			ws.Cipher(p, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpClose:
			return
		case ws.OpPing:
			c.write(frame(ws.OpPong, p))
		case ws.OpText, ws.OpBinary:
			s.command(c, p)
		}
	}
}

// command runs one client command; unknown commands are ignored.
func (s *Server) command(c *conn, p []byte) {
	if len(p) == 0 {
		return
	}
	switch p[0] {
	case 'E':
		c.write(frame(ws.OpText, p))
	case 'B':
		for i := 1; i < len(p); i++ {
			if p[i] == '\n' {
				s.broadcast(string(p[1:i]), p[i+1:])
				return
			}
		}
	}
}

// broadcast encodes data once and writes it to every member of the group.
func (s *Server) broadcast(name string, data []byte) {
	s.mu.RLock()
	g := s.groups[name]
	s.mu.RUnlock()
	if g == nil {
		return
	}
	f := frame(ws.OpText, data)
	g.mu.RLock()
	defer g.mu.RUnlock()
	for m := range g.members {
		m.write(f)
	}
}

// frame is an unmasked server frame.
func frame(op ws.OpCode, p []byte) []byte {
	var b bytes.Buffer
	b.Grow(ws.MaxHeaderSize + len(p))
	_ = ws.WriteHeader(&b, ws.Header{Fin: true, OpCode: op, Length: int64(len(p))})
	b.Write(p)
	return b.Bytes()
}

// write writes f with one write call; a failed or timed-out write closes the connection.
func (c *conn) write(f []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.nc.Write(f); err != nil {
		c.closed = true
		c.nc.Close()
	}
}

func (c *conn) close() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.closed {
		c.closed = true
		c.nc.Close()
	}
}

func (s *Server) pingLoop(ctx context.Context) {
	ping := frame(ws.OpPing, nil)
	t := time.NewTicker(s.keepalive)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.RLock()
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.RUnlock()
		for _, c := range conns {
			c.write(ping)
		}
	}
}

func (s *Server) closeAll() {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for c := range s.conns {
		c.close()
	}
}
