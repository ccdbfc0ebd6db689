//go:build linux

package gateway

import (
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller waits for readability of idle connections with one epoll instance, so an idle connection
// costs no goroutine (a parked reader goroutine's stack was about 4 KB of the per-connection cost,
// measured with 10,000 idle connections). Each socket is registered one-shot: an event starts one
// read session for that transport, which re-arms the socket when it is done. The Go runtime polls the
// same descriptors on its own; a second epoll registration is independent of it.
//
// The epoll descriptor is itself pollable, so run parks in the Go runtime's netpoller until it is
// readable and then collects events without blocking. Waiting in a blocking epoll_wait instead held
// an OS thread in a syscall, and with one CPU (GOMAXPROCS=1) the read sessions it started waited for
// the runtime to take the processor back from that thread.
type poller struct {
	epfd int
	file *os.File // owns epfd
	raw  syscall.RawConn

	mu    sync.Mutex
	conns map[int]*transport // by descriptor
}

func newPoller() (*poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	file := os.NewFile(uintptr(fd), "epoll") // non-blocking: registered with the runtime's netpoller
	raw, err := file.SyscallConn()
	if err != nil {
		_ = file.Close()
		return nil, err
	}
	return &poller{epfd: fd, file: file, raw: raw, conns: map[int]*transport{}}, nil
}

// add registers t when its socket is a plain TCP socket (TLS buffers decrypted bytes where epoll cannot
// see them, so TLS transports keep a reader goroutine). It does not arm the socket.
func (p *poller) add(t *transport) bool {
	tc, ok := t.nc.(*net.TCPConn)
	if !ok {
		return false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	fd := -1
	if raw.Control(func(f uintptr) { fd = int(f) }) != nil || fd < 0 {
		return false
	}
	ev := unix.EpollEvent{Events: 0, Fd: int32(fd)}
	if unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev) != nil {
		return false
	}
	t.fd, t.polled, t.raw = fd, true, raw
	p.mu.Lock()
	p.conns[fd] = t
	p.mu.Unlock()
	return true
}

// arm asks for one readability (or hang-up) event of t's socket.
func (t *transport) arm() {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(t.fd)}
	_ = unix.EpollCtl(t.c.g.poller.Load().epfd, unix.EPOLL_CTL_MOD, t.fd, &ev)
}

// remove forgets t before its socket is closed, so a descriptor reused by a new socket is not
// mistaken for it.
func (p *poller) remove(t *transport) {
	p.mu.Lock()
	if p.conns[t.fd] == t {
		delete(p.conns, t.fd)
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, t.fd, nil)
	}
	p.mu.Unlock()
}

// run dispatches events until close; each ready transport gets a read session.
func (p *poller) run() {
	events := make([]unix.EpollEvent, 256)
	// Read calls the function until it reports done, parking between calls until epfd is readable.
	_ = p.raw.Read(func(uintptr) bool {
		for {
			n, err := unix.EpollWait(p.epfd, events, 0)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n == 0 {
				return err != nil // nothing ready: park; an error means closed
			}
			p.dispatch(events[:n])
		}
	})
}

// dispatch starts a read session for each ready transport.
func (p *poller) dispatch(events []unix.EpollEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range events {
		t := p.conns[int(ev.Fd)]
		if t != nil && t.rstate.CompareAndSwap(readerIdle, readerReading) {
			go t.session()
		}
	}
}

// close stops run. Transports still registered keep working once their reader is woken by a close.
func (p *poller) close() { _ = p.file.Close() }

// maxIovecs is the kernel's limit on buffers in one writev (IOV_MAX).
const maxIovecs = 1024

// writeNow writes bufs without waiting for the socket and returns how many bytes it wrote: fewer than
// all when the socket is full, which is not an error.
func (t *transport) writeNow(bufs net.Buffers) (int, error) {
	written := 0
	var werr error
	err := t.raw.Write(func(fd uintptr) bool {
		for i := 0; i < len(bufs); {
			chunk := bufs[i:min(len(bufs), i+maxIovecs)]
			n, err := unix.Writev(int(fd), chunk)
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return true
			case err != nil:
				werr = err
				return true
			}
			written += n
			for _, b := range chunk {
				n -= len(b)
			}
			if n < 0 {
				return true // the socket took part of the chunk
			}
			i += len(chunk)
		}
		return true // never wait for the socket: the caller hands the rest to a writer goroutine
	})
	if err != nil {
		return written, err
	}
	return written, werr
}
