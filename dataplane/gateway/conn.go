package gateway

import (
	"errors"
	"fmt"
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

// Conn is one client connection (a session, for reliable protocols). Identity fields are set before
// the connection is registered and never change; the rest is guarded as documented. Its transport (the
// current WebSocket) is replaced when a reliable client recovers, and is nil in between.
//
// Lock order: Conn.rmu, then Conn.mu, then index shard locks, then connSet.mu, then a transport's
// out.mu (a leaf).
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
	cur         atomic.Pointer[transport] // nil while a reliable connection waits for recovery

	mu          sync.Mutex // guards the fields below
	groups      map[string]struct{}
	perms       *perms
	state       string // ce-connectionState
	acks        ackSet
	closing     bool       // unregistered: joins are refused
	final       bool       // the session ends with its transport (no recovery)
	closeReason closeCause // why the connection (or its last transport) ended; the first reason wins
	hasReason   bool

	rmu         sync.Mutex // orders sequence numbers, the replay buffer, transport changes and the end
	rel         reliableState
	over        bool               // torn down: guarded by rmu
	movingUntil int64              // unix nanoseconds; while set, another process is taking the session over
	restoring   bool               // this copy waits for its state from the process that held it
	pending     []pendingMessage   // messages received while restoring
	moved       map[msgID]struct{} // messages that came with the moved state, for late copies
	movedUntil  int64              // unix nanoseconds after which moved is dropped

	lastRead   atomic.Int64 // unix nanoseconds of the last frame received
	detachedAt atomic.Int64 // unix nanoseconds since the reliable session has had no transport; 0 attached
	busy       atomic.Bool  // waiting for the upstream: silence is not the client's fault
	nextPing   int64        // owned by the keepalive loop
	eventID    atomic.Uint64
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

func (c *Conn) reason() closeCause {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hasReason {
		return c.closeReason
	}
	return closeSocketLost
}

// setFinal marks that the connection ends with its transport, for cause.
func (c *Conn) setFinal(cause closeCause) {
	c.mu.Lock()
	c.final = true
	if !c.hasReason {
		c.closeReason, c.hasReason = cause, true
	}
	c.mu.Unlock()
}

// send queues a frame on the current transport; with none (a reliable session between transports)
// the frame is dropped: data messages are kept by the replay buffer, not here.
func (c *Conn) send(f outFrame) {
	if t := c.cur.Load(); t != nil {
		c.sent(t, t.enqueue(f, false))
	}
}

// sent completes a send: a transport that overflows is dropped. A reliable session survives it and
// replays what was not acknowledged when the client recovers; anything else ends.
func (c *Conn) sent(t *transport, res enqueueResult) {
	if res == overflow {
		c.g.metrics.slowConsumer(c)
		c.drop(t, closeSlowConsumer)
	}
}

// drop ends transport t at once, for cause. A reliable session is kept for recovery.
func (c *Conn) drop(t *transport, cause closeCause) {
	c.setCloseReason(cause)
	t.closeNow()
}

// goAway closes the transport with cause but keeps a reliable session, for its client to recover it
// (here, or in another process that takes it over).
func (c *Conn) goAway(cause closeCause) {
	c.setCloseReason(cause)
	if t := c.cur.Load(); t != nil {
		t.finish(closeFrame(cause.code, cause.reason))
	}
}

// Close ends the connection from the server side: subprotocol clients first get the disconnected
// system message with the reason, then every client gets a close frame. Queued frames are written
// first. A reliable session ends too: the client cannot recover it.
func (c *Conn) Close(cause closeCause) {
	c.setFinal(cause)
	c.unregister()
	t := c.cur.Load()
	if t == nil {
		c.teardown()
		return
	}
	if c.kind != protocol.Raw {
		t.enqueue(outFrame{head: systemFrame(c.kind, codecs[c.kind].disconnected(nil, cause.reason))}, true)
	}
	t.finish(closeFrame(cause.code, cause.reason))
}

// abort ends the connection at once, without flushing, and without recovery.
func (c *Conn) abort(cause closeCause) {
	c.setFinal(cause)
	c.unregister()
	if t := c.cur.Load(); t != nil {
		t.closeNow()
		return
	}
	c.teardown()
}

// transportEnded is called by t's reader when t is done. A reliable session whose transport dropped
// (not closed by either side) waits for the client to recover it; otherwise the connection ends.
func (c *Conn) transportEnded(t *transport, clientClosed bool) {
	t.finish(nil)
	c.mu.Lock()
	keep := c.kind.Reliable() && !c.final && !clientClosed
	c.mu.Unlock()
	c.rmu.Lock()
	if c.cur.Load() != t || c.over {
		c.rmu.Unlock() // replaced by a recovery, or already over
		return
	}
	if keep {
		c.cur.Store(nil)
		c.detachedAt.Store(time.Now().UnixNano())
		c.rmu.Unlock()
		return
	}
	c.rmu.Unlock()
	if clientClosed {
		c.setCloseReason(closeClientClosed)
	}
	c.teardown()
}

// teardown ends the connection once: it leaves every index and the disconnect is reported.
func (c *Conn) teardown() {
	c.rmu.Lock()
	if c.over {
		c.rmu.Unlock()
		return
	}
	c.over = true
	c.cur.Store(nil)
	c.rel.clear()
	c.rmu.Unlock()
	c.unregister()
	c.g.ended(c, c.reason())
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
