package gateway

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/kwps/kwps/dataplane/filter"
)

// Cluster routing: with a backplane, every Service operation acts on this process's connections
// directly and on the other processes' through the backplane, so any process answers for the whole
// service. A process is subscribed to a hub's, group's, user's or connection's channel exactly while it
// holds a member, which makes the backplane's receivers count an existence check and lets a request
// (list a group's members, check a permission) gather answers from exactly the processes that have them:
// no shared registry to write on every connect and join, and nothing stale after a process is killed
// (its subscriptions end with its Redis connection). The cost is one backplane round trip for a read
// about something this process does not hold, and a fan-in of one reply per holding process.

// requestTimeout bounds a backplane request made for a REST call.
const requestTimeout = 5 * time.Second

// ErrBackplane is returned when an operation needs another process and the backplane failed.
var ErrBackplane = errors.New("the service's processes cannot reach each other (backplane unavailable)")

func chHub(hub string) string          { return hub + ":all" }
func chGroup(hub, group string) string { return hub + ":g:" + group }
func chUser(hub, user string) string   { return hub + ":u:" + user }
func chConn(hub, connID string) string { return hub + ":c:" + connID }

// subscribe and unsubscribe are no-ops without a backplane; they never block.
func (g *Gateway) subscribe(ch string) {
	if g.bp != nil {
		g.bp.Subscribe(ch)
	}
}

func (g *Gateway) unsubscribe(ch string) {
	if g.bp != nil {
		g.bp.Unsubscribe(ch)
	}
}

// cast sends an envelope to the other processes without waiting.
func (g *Gateway) cast(ch string, e *envelope) {
	if g.bp != nil {
		g.bp.Send(ch, e.encode(make([]byte, 0, 64+len(e.msg.Data))))
	}
}

// ask sends a request envelope and returns the replies of the processes that hold ch's target.
func (g *Gateway) ask(ctx context.Context, ch string, e *envelope) (replies [][]byte, receivers int, err error) {
	if g.bp == nil {
		return nil, 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	replies, receivers, err = g.bp.Request(ctx, ch, e.encode(nil))
	if err != nil {
		return replies, receivers, errors.Join(ErrBackplane, err)
	}
	return replies, receivers, nil
}

// syncTimeout bounds how long a membership change waits for its new subscriptions to take effect.
const syncTimeout = 2 * time.Second

// syncSubscriptions waits until this process's subscription changes are in effect, so that a message
// published after it returns reaches the members that just joined here. Without a backplane, or when
// the backplane is down, it returns at once: local delivery needs no subscription.
func (g *Gateway) syncSubscriptions(ctx context.Context) {
	if g.bp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	_ = g.bp.Sync(ctx)
}

// askAll sends a membership command to the processes that hold its target and waits until each has
// applied it, so the caller's next call sees the change (read your writes across processes).
func (g *Gateway) askAll(ctx context.Context, ch string, e *envelope) error {
	replies, n, err := g.ask(ctx, ch, e)
	if err != nil {
		return err
	}
	for _, r := range replies {
		if len(r) > 0 && r[0] == replyTooManyGroups {
			return ErrTooManyGroups
		}
	}
	if len(replies) < n {
		return ErrBackplane
	}
	return nil
}

// existsElsewhere reports whether another process holds ch's target.
func (g *Gateway) existsElsewhere(ctx context.Context, ch, hub string) (bool, error) {
	if g.bp == nil {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	e := envelope{op: opExists, hub: hub}
	n, err := g.bp.Publish(ctx, ch, e.encode(nil))
	if err != nil {
		return false, errors.Join(ErrBackplane, err)
	}
	return n > 0, nil
}

// Reply statuses of requests.
const (
	replyOK byte = iota
	replyNotFound
	replyTooManyGroups
	replyFalse
)

func statusError(status byte) error {
	switch status {
	case replyNotFound:
		return ErrConnectionNotFound
	case replyTooManyGroups:
		return ErrTooManyGroups
	}
	return nil
}

// firstStatus reads the reply of the one process that holds a connection.
func firstStatus(replies [][]byte, receivers int) byte {
	if receivers == 0 || len(replies) == 0 || len(replies[0]) == 0 {
		return replyNotFound
	}
	return replies[0][0]
}

// onBackplane executes what another process asked of this one. It runs on a backplane ingress worker
// and never blocks: deliveries are queued, closes are asynchronous.
func (g *Gateway) onBackplane(_ string, payload []byte, reply func([]byte)) {
	e, err := decodeEnvelope(payload)
	if err != nil {
		g.log.Warn("dropped a malformed backplane message", "error", err)
		if reply != nil {
			reply([]byte{replyNotFound})
		}
		return
	}
	h := g.lookupHub(e.hub)
	status := replyNotFound
	switch {
	case h != nil:
		status = g.apply(h, e, reply)
	case reply != nil && (e.op == opListGroup || e.op == opPrepare || e.op == opCommit):
		reply([]byte{replyNotFound})
		return
	}
	if reply == nil || e.op == opListGroup || e.op == opPrepare || e.op == opCommit {
		return
	}
	if joins(e.op) && g.bp != nil {
		// A join may have subscribed this process to the group: answer once that is in effect, off
		// the ingress worker, which must not block.
		go func() {
			g.syncSubscriptions(context.Background())
			reply([]byte{status})
		}()
		return
	}
	reply([]byte{status})
}

// joins reports whether op adds connections to groups.
func joins(o op) bool { return o == opJoinConn || o == opJoinUser || o == opAddToGroups }

// apply runs e against this process's connections of h.
func (g *Gateway) apply(h *hub, e *envelope, reply func([]byte)) byte {
	o := SendOptions{Excluded: e.excluded}
	if e.filter != "" {
		f, err := filter.Parse(e.filter)
		if err != nil {
			return replyNotFound
		}
		o.Filter = f
	}
	closing := CloseOptions{Excluded: e.excluded, Reason: e.reason}
	p := &post{msg: &e.msg, id: e.id, opts: &o, expires: e.expires}
	switch e.op {
	case opSendAll:
		eachConn(h, newDelivery(p).to)
	case opSendGroup:
		deliver(h.groups.members(e.target), p)
	case opSendUser:
		deliver(h.users.members(e.target), p)
	case opSendConn:
		deliver(connSlice(h.conns.get(e.target)), p)
	case opCloseAll:
		eachConn(h, func(c *Conn) { closeEach([]*Conn{c}, closing) })
	case opCloseGroup:
		closeEach(h.groups.members(e.target), closing)
	case opCloseUser:
		closeEach(h.users.members(e.target), closing)
	case opCloseConn:
		closeEach(connSlice(h.conns.get(e.target)), closing)
	case opJoinConn:
		c := h.conns.get(e.target)
		if c == nil {
			return replyNotFound
		}
		if err := c.join(e.group); errors.Is(err, errTooManyGroups) {
			return replyTooManyGroups
		}
	case opLeaveConn:
		if c := h.conns.get(e.target); c != nil {
			c.leave(e.group)
		}
	case opLeaveAllConn:
		if c := h.conns.get(e.target); c != nil {
			c.leaveAll()
		}
	case opJoinUser:
		for _, c := range h.users.members(e.target) {
			if errors.Is(c.join(e.group), errTooManyGroups) {
				return replyTooManyGroups
			}
		}
	case opLeaveUser:
		for _, c := range h.users.members(e.target) {
			c.leave(e.group)
		}
	case opLeaveAllUser:
		for _, c := range h.users.members(e.target) {
			c.leaveAll()
		}
	case opAddToGroups:
		if errors.Is(joinMatching(h, e.groups, o.Filter), errTooManyGroups) {
			return replyTooManyGroups
		}
	case opRemoveFromGroups:
		leaveMatching(h, e.groups, o.Filter)
	case opGrant, opRevoke, opCheck:
		return applyPermission(h.conns.get(e.target), e)
	case opListGroup:
		if reply != nil {
			reply(encodeMembers(h.groups.members(e.target)))
		}
	case opPrepare:
		if reply != nil {
			reply(onHandover(h.conns.get(e.target), e))
		}
	case opCommit:
		if reply != nil {
			// The snapshot must hold every message received before the commit, including those
			// still queued on other ingress workers: wait for them, off this worker.
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
				defer cancel()
				if g.bp.Barrier(ctx) != nil {
					reply([]byte{replyNotFound})
					return
				}
				reply(onHandover(h.conns.get(e.target), e))
			}()
		}
	}
	return replyOK
}

func applyPermission(c *Conn, e *envelope) byte {
	if c == nil {
		return replyNotFound
	}
	switch e.op {
	case opGrant:
		if c.grant(e.perm, e.group) != nil {
			return replyTooManyGroups
		}
	case opRevoke:
		c.revoke(e.perm, e.group)
	case opCheck:
		if !c.checkPermission(e.perm, e.group) {
			return replyFalse
		}
	}
	return replyOK
}

func connSlice(c *Conn) []*Conn {
	if c == nil {
		return nil
	}
	return []*Conn{c}
}

// encodeMembers is the reply to opListGroup: the members' IDs and users.
func encodeMembers(conns []*Conn) []byte {
	var b []byte
	for _, c := range conns {
		b = appendString(b, c.id)
		if c.hasUser {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = appendString(b, c.userID)
	}
	return b
}

func decodeMembers(b []byte, out []ConnectionInfo) []ConnectionInfo {
	r := reader{b: b}
	for len(r.b) > 0 && !r.err {
		id := r.string()
		if len(r.b) == 0 {
			break
		}
		has := r.b[0] == 1
		r.b = r.b[1:]
		user := r.string()
		if !r.err {
			out = append(out, ConnectionInfo{ConnectionID: id, UserID: user, HasUserID: has})
		}
	}
	return out
}

// page sorts members by connection ID and returns those after the cursor, at most limit.
func page(members []ConnectionInfo, after string, limit int) ([]ConnectionInfo, bool) {
	sort.Slice(members, func(i, j int) bool { return members[i].ConnectionID < members[j].ConnectionID })
	i := sort.Search(len(members), func(i int) bool { return members[i].ConnectionID > after })
	members = members[i:]
	// A connection held by two processes for a moment (a recovery in flight) is listed once.
	out := members[:0]
	for k, m := range members {
		if k == 0 || m.ConnectionID != members[k-1].ConnectionID {
			out = append(out, m)
		}
	}
	if len(out) > limit {
		return out[:limit], true
	}
	return out, false
}
