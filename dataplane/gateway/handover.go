package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/kwps/kwps/dataplane/protocol"
)

// Handover moves a reliable session between processes: its client recovers on process B while the
// session lives on process A (A is draining, or the load balancer sent the reconnect elsewhere).
//
//  1. B asks A to prepare (opPrepare on the connection's channel). A drops its socket, if any, refuses
//     local recoveries of the session, and answers its identity and groups.
//  2. B registers a restoring copy (same ID, user and groups) and waits until its subscriptions are
//     active: from then on B receives every message for the session too, and holds them.
//  3. B asks A to commit (opCommit). A answers the rest of the state (numbering, unacknowledged
//     messages, ackIds, permissions, connection state) and forgets the session without a disconnected
//     event.
//  4. B keeps A's messages, then those it held that A did not have (by message ID), numbered after
//     A's, and attaches the client's socket: the client sees every message once, in order.
//
// A prepared session that is not committed within handoverTimeout goes back to waiting for recovery.

const handoverTimeout = 10 * time.Second

// errHandover says a session could not be moved.
var errHandover = errors.New("the session could not be moved from the process that holds it")

// syncer is a backplane that can wait until its subscriptions are applied.
type syncer interface {
	Sync(ctx context.Context) error
}

// prepareHandover is A's side of step 1.
func (c *Conn) prepareHandover() ([]byte, bool) {
	c.rmu.Lock()
	if c.over || !c.kind.Reliable() {
		c.rmu.Unlock()
		return nil, false
	}
	c.movingUntil = time.Now().Add(handoverTimeout).UnixNano()
	t := c.cur.Swap(nil)
	if c.detachedAt.Load() == 0 {
		c.detachedAt.Store(time.Now().UnixNano())
	}
	c.rmu.Unlock()
	if t != nil {
		t.closeNow() // the client is on another process now
	}
	c.mu.Lock()
	groups := make([]string, 0, len(c.groups))
	for g := range c.groups {
		groups = append(groups, g)
	}
	c.mu.Unlock()
	var b []byte
	b = appendString(b, c.userID)
	b = appendBool(b, c.hasUser)
	b = append(b, byte(c.kind))
	b = appendString(b, c.subprotocol)
	b = appendStrings(b, groups)
	return b, true
}

// commitHandover is A's side of step 3: the state, after which A forgets the session.
func (c *Conn) commitHandover() ([]byte, bool) {
	c.rmu.Lock()
	if c.over || c.movingUntil == 0 {
		c.rmu.Unlock()
		return nil, false
	}
	c.mu.Lock()
	var b []byte
	groups := make([]string, 0, len(c.groups))
	for g := range c.groups {
		groups = append(groups, g)
	}
	b = appendStrings(b, groups)
	b = appendString(b, c.state)
	b = appendPerms(b, c.perms)
	b = appendUvarints(b, c.acks.ring)
	c.mu.Unlock()
	b = appendUvarint(b, c.eventID.Load())
	b = appendUvarint(b, c.rel.seq)
	b = appendUvarint(b, uint64(len(c.rel.buf)))
	for _, f := range c.rel.buf {
		b = appendString(b, string(f.head))
		b = appendString(b, string(f.body))
		b = appendString(b, string(f.tail))
		b = appendUvarint(b, f.seq)
		b = appendUvarint(b, uint64(f.expires))
		b = appendUvarint(b, f.id.origin)
		b = appendUvarint(b, f.id.n)
	}
	c.over = true
	c.cur.Store(nil)
	c.rel.clear()
	c.rmu.Unlock()
	c.unregister()
	c.g.metrics.closed(c, CategoryNormal) // it lives on in the other process
	c.g.live.Add(-1)
	return b, true
}

// handoverFrom runs B's side: it returns the restored session, ready to attach, or an error after
// which the client is told its session cannot be recovered.
func (g *Gateway) handoverFrom(ctx context.Context, hubName, id string) (*Conn, error) {
	h := g.hubFor(hubName)
	if h == nil || g.bp == nil {
		return nil, errHandover
	}
	if _, busy := g.restoring.LoadOrStore(hubName+"/"+id, struct{}{}); busy {
		return nil, errHandover // a retry while the first attempt runs; the client tries again
	}
	defer g.restoring.Delete(hubName + "/" + id)
	replies, n, err := g.ask(ctx, chConn(hubName, id), &envelope{op: opPrepare, hub: hubName, target: id})
	if err != nil || n == 0 || len(replies) == 0 || len(replies[0]) < 2 || replies[0][0] != replyOK {
		return nil, errHandover
	}
	r := reader{b: replies[0][1:]}
	c := &Conn{g: g, hub: h, id: id, perms: &perms{}}
	c.userID = r.string()
	c.hasUser = r.bool()
	c.kind = protocol.Kind(r.byte())
	c.subprotocol = r.string()
	groups := r.strings()
	if r.err || !c.kind.Reliable() || codecs[c.kind] == nil {
		return nil, errHandover
	}
	c.restoring = true
	c.lastRead.Store(time.Now().UnixNano())
	c.detachedAt.Store(time.Now().UnixNano())
	g.register(c, groups)
	if s, ok := g.bp.(syncer); ok {
		if err := s.Sync(ctx); err != nil {
			c.abandon()
			return nil, errHandover
		}
	}
	// What this process published before the copy registered reached the other process's copy only:
	// make sure it got there before that process takes its snapshot (which first handles everything
	// it received, see onBackplane).
	if err := g.bp.Flush(ctx); err != nil {
		c.abandon()
		return nil, errHandover
	}
	replies, n, err = g.ask(ctx, chConn(hubName, id), &envelope{op: opCommit, hub: hubName, target: id})
	if err != nil || n == 0 || len(replies) == 0 || len(replies[0]) < 1 || replies[0][0] != replyOK {
		c.abandon()
		return nil, errHandover
	}
	if !c.restore(replies[0][1:]) {
		c.abandon()
		return nil, errHandover
	}
	g.metrics.opened(c)
	return c, nil
}

// abandon ends a restoring session that could not be moved, without telling the upstream.
func (c *Conn) abandon() {
	c.rmu.Lock()
	c.over = true
	c.pending = nil
	c.rmu.Unlock()
	c.unregister()
	c.g.live.Add(-1)
}

// restore applies A's state (step 4).
func (c *Conn) restore(state []byte) bool {
	r := reader{b: state}
	groups := r.strings()
	connState := r.string()
	p := readPerms(&r)
	acks := r.uvarints()
	eventID := r.uvarint()
	seq := r.uvarint()
	count := r.uvarint()
	if r.err || count > maxReplayMessages {
		return false
	}
	frames := make([]outFrame, 0, count)
	have := make(map[msgID]struct{}, count)
	for range count {
		f := outFrame{head: r.bytes(), body: r.bytes(), tail: r.bytes(), seq: r.uvarint(), expires: int64(r.uvarint())}
		f.id = msgID{r.uvarint(), r.uvarint()}
		frames = append(frames, f)
		have[f.id] = struct{}{}
	}
	if r.err || p == nil {
		return false
	}
	for _, g := range groups {
		_ = c.join(g)
	}
	c.mu.Lock()
	c.state, c.perms = connState, p
	for _, a := range acks {
		c.acks.add(a)
	}
	c.mu.Unlock()
	c.eventID.Store(eventID)

	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rel.seq = seq
	c.rel.buf = frames
	for _, f := range frames {
		c.rel.bytes += f.size()
	}
	pending := c.pending
	c.pending, c.restoring = nil, false
	c.moved, c.movedUntil = have, time.Now().Add(movedGrace).UnixNano()
	for _, m := range pending {
		if _, dup := have[m.id]; !dup {
			c.sequenceLocked(m.body, m.expires, m.id)
		}
	}
	return true
}

// isMoving reports whether another process is taking the session over.
func (c *Conn) isMoving() bool {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.movingUntil != 0
}

// handoverExpired lets a prepared session that was never committed wait for recovery again.
func (c *Conn) handoverExpired(now int64) {
	c.rmu.Lock()
	if c.movingUntil != 0 && now > c.movingUntil {
		c.movingUntil = 0
	}
	c.rmu.Unlock()
}

// movedGrace is how long a session that moved here drops late copies of the messages that came with
// its state: a message the old process had can still be in flight to this one over the backplane
// (another path than the state's), and must not be numbered twice.
const movedGrace = 30 * time.Second

// isLateCopy reports whether id came with the moved state already. The caller holds c.rmu.
func (c *Conn) isLateCopy(id msgID) bool {
	if c.moved == nil {
		return false
	}
	if time.Now().UnixNano() > c.movedUntil {
		c.moved = nil
		return false
	}
	_, dup := c.moved[id]
	return dup
}

// pendingMessage is a message a restoring session received before its state arrived.
type pendingMessage struct {
	body    []byte
	expires int64
	id      msgID
}

// onHandover answers opPrepare and opCommit for a local session.
func onHandover(c *Conn, e *envelope) []byte {
	var state []byte
	ok := false
	if c != nil {
		if e.op == opPrepare {
			state, ok = c.prepareHandover()
		} else {
			state, ok = c.commitHandover()
		}
	}
	if !ok {
		return []byte{replyNotFound}
	}
	return append([]byte{replyOK}, state...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendUvarints(b []byte, vs []uint64) []byte {
	b = appendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = appendUvarint(b, v)
	}
	return b
}

// appendPerms writes permissions: for join then send, all, literal groups, denied groups, patterns.
func appendPerms(b []byte, p *perms) []byte {
	if p == nil {
		p = &perms{}
	}
	for _, g := range []*grants{&p.join, &p.send} {
		b = appendBool(b, g.all)
		b = appendStrings(b, setKeys(g.groups))
		b = appendStrings(b, setKeys(g.deny))
		b = appendStrings(b, g.sources)
	}
	return b
}

func readPerms(r *reader) *perms {
	p := &perms{}
	for _, g := range []*grants{&p.join, &p.send} {
		g.all = r.bool()
		for _, group := range r.strings() {
			_ = g.grant(group)
		}
		for _, group := range r.strings() {
			if g.deny == nil {
				g.deny = map[string]struct{}{}
			}
			g.deny[group] = struct{}{}
		}
		for _, src := range r.strings() {
			if g.addPattern(src) != nil {
				return nil
			}
		}
	}
	if r.err {
		return nil
	}
	return p
}

func setKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
