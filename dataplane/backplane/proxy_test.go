package backplane

import (
	"net"
	"sync"
	"testing"
)

// proxy forwards TCP connections to a target. blackhole makes the current connections silent
// without closing them, and keeps it so even when one side closes (a half-open connection, as when
// a network path dies); new connections work normally.
type proxy struct {
	l      net.Listener
	target string

	mu    sync.Mutex
	conns []*proxied
	wg    sync.WaitGroup
}

type proxied struct {
	client, server net.Conn
	mu             sync.Mutex
	dead           bool
}

func newProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return // closed
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		pc := &proxied{client: c, server: s}
		p.mu.Lock()
		p.conns = append(p.conns, pc)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(pc, c, s)
		go p.pipe(pc, s, c)
	}
}

// pipe copies until either side closes; once the connection is dead it swallows what it reads.
func (p *proxy) pipe(pc *proxied, from, to net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		pc.mu.Lock()
		dead := pc.dead
		pc.mu.Unlock()
		if n > 0 && !dead {
			if _, werr := to.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			// A live connection passes the close on; a dead one does not even do that, so the
			// other side keeps its end open, as across a lost network.
			_ = from.Close()
			if !dead {
				_ = to.Close()
			}
			return
		}
	}
}

func (p *proxy) blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.conns {
		pc.mu.Lock()
		pc.dead = true
		pc.mu.Unlock()
	}
}

func (p *proxy) close() {
	_ = p.l.Close()
	p.mu.Lock()
	for _, pc := range p.conns {
		_ = pc.client.Close()
		_ = pc.server.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
