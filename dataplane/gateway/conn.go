package gateway

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kwps/kwps/dataplane/protocol"
)

// rawMode is how a simple WebSocket client's frames are handled (webpubsub_mode).
type rawMode uint8

const (
	rawSendEvent rawMode = iota
	rawSendToGroup
)

// Conn is one client connection. Identity fields are set before the connection is registered and never
// change; the rest is guarded as documented.
//
// Lock order: Conn.mu, then index shard locks, then connSet.mu, then Conn.out.mu (a leaf).
type Conn struct {
	g           *Gateway
	hub         *hub
	id          string
	userID      string
	hasUser     bool
	kind        protocol.Kind
	subprotocol string // as negotiated (a custom one for raw clients, if the connect handler chose it)
	mode        rawMode
	rawGroup    string // rawSendToGroup: the group every frame goes to
	rawNoEcho   bool
	nc          net.Conn

	mu          sync.Mutex // guards the fields below
	groups      map[string]struct{}
	perms       *perms
	state       string // ce-connectionState
	acks        ackSet
	closing     bool
	closeReason closeCause
	hasReason   bool

	out outQueue
	seq uint64 // last sequenceId sent (reliable); guarded by out.mu

	lastRead  atomic.Int64 // unix nanoseconds of the last frame received
	busy      atomic.Bool  // waiting for the upstream: silence is not the client's fault
	nextPing  int64        // owned by the keepalive loop
	eventID   atomic.Uint64
	closeOnce sync.Once
	refs      atomic.Int32 // reader and writer-final; see release
}

// Errors of group operations, mapped to acks by the protocol handlers.
var (
	errTooManyGroups = errors.New("too many groups on this connection")
	errClosed        = errors.New("the connection is closed")
)

// ConnectionID returns the connection's ID (filter.Subject).
func (c *Conn) ConnectionID() string { return c.id }

// UserID returns the user, ok=false when anonymous (filter.Subject).
func (c *Conn) UserID() (string, bool) { return c.userID, c.hasUser }

// InGroup reports membership (filter.Subject).
func (c *Conn) InGroup(group string) bool {
	c.mu.Lock()
	_, ok := c.groups[group]
	c.mu.Unlock()
	return ok
}

// GroupCount returns how many groups the connection is in (filter.Subject).
func (c *Conn) GroupCount() int {
	c.mu.Lock()
	n := len(c.groups)
	c.mu.Unlock()
	return n
}

func (c *Conn) info() ConnectionInfo {
	return ConnectionInfo{ConnectionID: c.id, UserID: c.userID, HasUserID: c.hasUser}
}

// join adds the connection to group; joining a group twice is not an error.
func (c *Conn) join(group string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return errClosed
	}
	if _, ok := c.groups[group]; ok {
		return nil
	}
	if len(c.groups) >= c.g.opts.MaxGroupsPerConnection {
		return fmt.Errorf("%w (at most %d)", errTooManyGroups, c.g.opts.MaxGroupsPerConnection)
	}
	if c.groups == nil {
		c.groups = make(map[string]struct{}, 1)
	}
	c.groups[group] = struct{}{}
	c.hub.groups.add(group, c)
	return nil
}

// leave removes the connection from group, if it is a member.
func (c *Conn) leave(group string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.groups[group]; !ok {
		return
	}
	delete(c.groups, group)
	c.hub.groups.remove(group, c)
}

// leaveAll removes the connection from every group.
func (c *Conn) leaveAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for group := range c.groups {
		c.hub.groups.remove(group, c)
	}
	c.groups = nil
}

// allowed reports whether the connection holds permission p for group.
func (c *Conn) allowed(p Permission, group string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.perms != nil && c.perms.of(p).allows(group)
}

func (c *Conn) grant(p Permission, group string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.perms == nil {
		c.perms = &perms{}
	}
	return c.perms.of(p).grant(group)
}

func (c *Conn) revoke(p Permission, group string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.perms != nil {
		c.perms.of(p).revoke(group)
	}
}

func (c *Conn) checkPermission(p Permission, group string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.perms != nil && c.perms.of(p).check(group)
}

func (c *Conn) connectionState() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *Conn) setConnectionState(s string) {
	c.mu.Lock()
	c.state = s
	c.mu.Unlock()
}

func (c *Conn) setCloseReason(cause closeCause) {
	c.mu.Lock()
	if !c.hasReason {
		c.closeReason, c.hasReason = cause, true
	}
	c.mu.Unlock()
}

// Close ends the connection from the server side: subprotocol clients first get the disconnected
// system message with the reason, then every client gets a close frame. Queued frames are written first.
func (c *Conn) Close(cause closeCause) {
	c.setCloseReason(cause)
	c.unregister()
	if c.kind != protocol.Raw {
		c.send(outFrame{head: systemFrame(c.kind, protocol.AppendJSONDisconnected(nil, cause.reason))})
	}
	c.finish(closeFrame(cause.code, cause.reason))
}

// abort ends the connection at once, without flushing (slow consumers, broken sockets).
func (c *Conn) abort(cause closeCause) {
	c.setCloseReason(cause)
	c.unregister()
	c.out.mu.Lock()
	c.out.closed = true
	c.out.mu.Unlock()
	c.closeSocket()
}

func (c *Conn) closeSocket() {
	c.closeOnce.Do(func() { _ = c.nc.Close() })
}

// release is called once by the reader when it is done and once by the writer when the queue is
// closed and flushed; the socket is closed when both are done.
func (c *Conn) release() {
	if c.refs.Add(-1) == 0 {
		c.closeSocket()
	}
}

// unregister removes the connection from its hub's indexes once; later sends no longer find it.
func (c *Conn) unregister() {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	groups := c.groups
	c.groups = nil
	c.mu.Unlock()
	for group := range groups {
		c.hub.groups.remove(group, c)
	}
	if c.hasUser {
		c.hub.users.remove(c.userID, c)
	}
	c.hub.conns.delete(c)
	c.g.unsubscribe(chConn(c.hub.name, c.id))
	c.g.removeLive(c.hub)
}

// touch records that the peer is alive.
func (c *Conn) touch() { c.lastRead.Store(time.Now().UnixNano()) }
