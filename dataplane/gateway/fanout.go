package gateway

import (
	"context"
	"errors"
	"sync"

	"github.com/kwps/kwps/dataplane/filter"
	"github.com/kwps/kwps/dataplane/protocol"
)

// ErrTooManyGroups is returned when a connection would join more groups than allowed.
var ErrTooManyGroups = errTooManyGroups

var connBufPool = sync.Pool{New: func() any { s := make([]*Conn, 0, 256); return &s }}

// eachConn calls f for every local connection of h, without holding locks during f.
func eachConn(h *hub, f func(*Conn)) {
	bp := connBufPool.Get().(*[]*Conn)
	*bp = h.conns.each(*bp, f)
	clear((*bp)[:cap(*bp)])
	connBufPool.Put(bp)
}

func serverMessage(p protocol.Payload) *protocol.Message {
	return &protocol.Message{From: protocol.FromServer, Payload: p}
}

// deliver queues p for the given local connections.
func deliver(conns []*Conn, p *post) {
	if len(conns) > 0 {
		newDelivery(p).toAll(conns)
	}
}

func filterText(f *filter.Filter) string {
	if f == nil {
		return ""
	}
	return f.String()
}

// sendEnvelope is the backplane form of a send.
func sendEnvelope(kind op, hubName, target string, p *post) *envelope {
	return &envelope{op: kind, hub: hubName, target: target, msg: *p.msg, id: p.id, excluded: p.opts.Excluded,
		filter: filterText(p.opts.Filter), expires: p.expires}
}

// publishGroup delivers m to group's members in every process.
func (g *Gateway) publishGroup(hubName, group string, m *protocol.Message, o SendOptions) {
	p := g.newPost(m, &o)
	if h := g.lookupHub(hubName); h != nil {
		deliver(h.groups.members(group), p)
	}
	g.cast(chGroup(hubName, group), sendEnvelope(opSendGroup, hubName, group, p))
}

// SendToAll implements Service.
func (g *Gateway) SendToAll(_ context.Context, hubName string, payload protocol.Payload, o SendOptions) error {
	p := g.newPost(serverMessage(payload), &o)
	if h := g.lookupHub(hubName); h != nil {
		eachConn(h, newDelivery(p).to)
	}
	g.cast(chHub(hubName), sendEnvelope(opSendAll, hubName, "", p))
	return nil
}

// SendToUser implements Service.
func (g *Gateway) SendToUser(_ context.Context, hubName, userID string, payload protocol.Payload, o SendOptions) error {
	p := g.newPost(serverMessage(payload), &o)
	if h := g.lookupHub(hubName); h != nil {
		deliver(h.users.members(userID), p)
	}
	g.cast(chUser(hubName, userID), sendEnvelope(opSendUser, hubName, userID, p))
	return nil
}

// SendToConnection implements Service.
func (g *Gateway) SendToConnection(_ context.Context, hubName, connectionID string, payload protocol.Payload, o SendOptions) error {
	p := g.newPost(serverMessage(payload), &o)
	if c := g.conn(hubName, connectionID); c != nil {
		deliver([]*Conn{c}, p)
		return nil
	}
	g.cast(chConn(hubName, connectionID), sendEnvelope(opSendConn, hubName, connectionID, p))
	return nil
}

// SendToGroup implements Service.
func (g *Gateway) SendToGroup(_ context.Context, hubName, group string, p protocol.Payload, o SendOptions) error {
	g.publishGroup(hubName, group, &protocol.Message{From: protocol.FromGroup, Group: group, Payload: p}, o)
	return nil
}

func (g *Gateway) conn(hubName, connectionID string) *Conn {
	if h := g.lookupHub(hubName); h != nil {
		return h.conns.get(connectionID)
	}
	return nil
}

// ConnectionExists implements Service.
func (g *Gateway) ConnectionExists(ctx context.Context, hubName, connectionID string) (bool, error) {
	if g.conn(hubName, connectionID) != nil {
		return true, nil
	}
	return g.existsElsewhere(ctx, chConn(hubName, connectionID), hubName)
}

// UserExists implements Service.
func (g *Gateway) UserExists(ctx context.Context, hubName, userID string) (bool, error) {
	if h := g.lookupHub(hubName); h != nil && h.users.get(userID) != nil {
		return true, nil
	}
	return g.existsElsewhere(ctx, chUser(hubName, userID), hubName)
}

// GroupExists implements Service.
func (g *Gateway) GroupExists(ctx context.Context, hubName, group string) (bool, error) {
	if h := g.lookupHub(hubName); h != nil && h.groups.get(group) != nil {
		return true, nil
	}
	return g.existsElsewhere(ctx, chGroup(hubName, group), hubName)
}

// CloseConnection implements Service.
func (g *Gateway) CloseConnection(_ context.Context, hubName, connectionID, reason string) error {
	if c := g.conn(hubName, connectionID); c != nil {
		c.Close(serverClose(reason))
		return nil
	}
	g.cast(chConn(hubName, connectionID), &envelope{op: opCloseConn, hub: hubName, target: connectionID, reason: reason})
	return nil
}

func closeEach(conns []*Conn, o CloseOptions) {
	for _, c := range conns {
		if !contains(o.Excluded, c.id) {
			c.Close(serverClose(o.Reason))
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func closeEnvelope(kind op, hubName, target string, o CloseOptions) *envelope {
	return &envelope{op: kind, hub: hubName, target: target, excluded: o.Excluded, reason: o.Reason}
}

// CloseUserConnections implements Service.
func (g *Gateway) CloseUserConnections(_ context.Context, hubName, userID string, o CloseOptions) error {
	if h := g.lookupHub(hubName); h != nil {
		closeEach(h.users.members(userID), o)
	}
	g.cast(chUser(hubName, userID), closeEnvelope(opCloseUser, hubName, userID, o))
	return nil
}

// CloseGroupConnections implements Service.
func (g *Gateway) CloseGroupConnections(_ context.Context, hubName, group string, o CloseOptions) error {
	if h := g.lookupHub(hubName); h != nil {
		closeEach(h.groups.members(group), o)
	}
	g.cast(chGroup(hubName, group), closeEnvelope(opCloseGroup, hubName, group, o))
	return nil
}

// CloseAllConnections implements Service.
func (g *Gateway) CloseAllConnections(_ context.Context, hubName string, o CloseOptions) error {
	if h := g.lookupHub(hubName); h != nil {
		eachConn(h, func(c *Conn) { closeEach([]*Conn{c}, o) })
	}
	g.cast(chHub(hubName), closeEnvelope(opCloseAll, hubName, "", o))
	return nil
}

// AddConnectionToGroup implements Service. Like every membership call, it returns once the change is
// in effect in every process, so the caller's next call sees it.
func (g *Gateway) AddConnectionToGroup(ctx context.Context, hubName, group, connectionID string) error {
	if c := g.conn(hubName, connectionID); c != nil {
		if err := c.join(group); err != nil && !errors.Is(err, errClosed) {
			return err
		}
		g.syncSubscriptions(ctx)
		return nil
	}
	replies, n, err := g.ask(ctx, chConn(hubName, connectionID), &envelope{op: opJoinConn, hub: hubName, target: connectionID, group: group})
	if err != nil {
		return err
	}
	return statusError(firstStatus(replies, n))
}

// RemoveConnectionFromGroup implements Service.
func (g *Gateway) RemoveConnectionFromGroup(ctx context.Context, hubName, group, connectionID string) error {
	if c := g.conn(hubName, connectionID); c != nil {
		c.leave(group)
		return nil
	}
	return g.askAll(ctx, chConn(hubName, connectionID), &envelope{op: opLeaveConn, hub: hubName, target: connectionID, group: group})
}

// RemoveConnectionFromAllGroups implements Service.
func (g *Gateway) RemoveConnectionFromAllGroups(ctx context.Context, hubName, connectionID string) error {
	if c := g.conn(hubName, connectionID); c != nil {
		c.leaveAll()
		return nil
	}
	return g.askAll(ctx, chConn(hubName, connectionID), &envelope{op: opLeaveAllConn, hub: hubName, target: connectionID})
}

// AddUserToGroup implements Service: every connection the user has now, in every process, joins the
// group. Connections the user opens later do not (as Azure's group membership is per connection).
func (g *Gateway) AddUserToGroup(ctx context.Context, hubName, group, userID string) error {
	var err error
	if h := g.lookupHub(hubName); h != nil {
		for _, c := range h.users.members(userID) {
			if e := c.join(group); errors.Is(e, errTooManyGroups) {
				err = e
			}
		}
		g.syncSubscriptions(ctx)
	}
	if e := g.askAll(ctx, chUser(hubName, userID), &envelope{op: opJoinUser, hub: hubName, target: userID, group: group}); err == nil {
		err = e
	}
	return err
}

// RemoveUserFromGroup implements Service.
func (g *Gateway) RemoveUserFromGroup(ctx context.Context, hubName, group, userID string) error {
	if h := g.lookupHub(hubName); h != nil {
		for _, c := range h.users.members(userID) {
			c.leave(group)
		}
	}
	return g.askAll(ctx, chUser(hubName, userID), &envelope{op: opLeaveUser, hub: hubName, target: userID, group: group})
}

// RemoveUserFromAllGroups implements Service.
func (g *Gateway) RemoveUserFromAllGroups(ctx context.Context, hubName, userID string) error {
	if h := g.lookupHub(hubName); h != nil {
		for _, c := range h.users.members(userID) {
			c.leaveAll()
		}
	}
	return g.askAll(ctx, chUser(hubName, userID), &envelope{op: opLeaveAllUser, hub: hubName, target: userID})
}

// joinMatching adds every local connection of h that matches f to groups.
func joinMatching(h *hub, groups []string, f *filter.Filter) error {
	var err error
	eachConn(h, func(c *Conn) {
		if !f.Match(c) {
			return
		}
		for _, group := range groups {
			if e := c.join(group); errors.Is(e, errTooManyGroups) && err == nil {
				err = e
			}
		}
	})
	return err
}

func leaveMatching(h *hub, groups []string, f *filter.Filter) {
	eachConn(h, func(c *Conn) {
		if !f.Match(c) {
			return
		}
		for _, group := range groups {
			c.leave(group)
		}
	})
}

// AddConnectionsToGroups implements Service.
func (g *Gateway) AddConnectionsToGroups(ctx context.Context, hubName string, groups []string, f *filter.Filter) error {
	var err error
	if h := g.lookupHub(hubName); h != nil {
		err = joinMatching(h, groups, f)
		g.syncSubscriptions(ctx)
	}
	if e := g.askAll(ctx, chHub(hubName), &envelope{op: opAddToGroups, hub: hubName, groups: groups, filter: filterText(f)}); err == nil {
		err = e
	}
	return err
}

// RemoveConnectionsFromGroups implements Service.
func (g *Gateway) RemoveConnectionsFromGroups(ctx context.Context, hubName string, groups []string, f *filter.Filter) error {
	if h := g.lookupHub(hubName); h != nil {
		leaveMatching(h, groups, f)
	}
	return g.askAll(ctx, chHub(hubName), &envelope{op: opRemoveFromGroups, hub: hubName, groups: groups, filter: filterText(f)})
}

// ListGroupConnections implements Service: the members of every process, sorted by connection ID.
func (g *Gateway) ListGroupConnections(ctx context.Context, hubName, group, after string, limit int) ([]ConnectionInfo, bool, error) {
	var members []ConnectionInfo
	if h := g.lookupHub(hubName); h != nil {
		for _, c := range h.groups.members(group) {
			members = append(members, c.info())
		}
	}
	replies, _, err := g.ask(ctx, chGroup(hubName, group), &envelope{op: opListGroup, hub: hubName, target: group})
	if err != nil {
		return nil, false, err
	}
	for _, r := range replies {
		members = decodeMembers(r, members)
	}
	p, more := page(members, after, limit)
	return p, more, nil
}

// permission runs a grant, revoke or check on a connection wherever it is.
func (g *Gateway) permission(ctx context.Context, kind op, hubName, connectionID string, p Permission, target string) (byte, error) {
	if c := g.conn(hubName, connectionID); c != nil {
		return applyPermission(c, &envelope{op: kind, perm: p, group: target}), nil
	}
	replies, n, err := g.ask(ctx, chConn(hubName, connectionID), &envelope{op: kind, hub: hubName, target: connectionID, perm: p, group: target})
	if err != nil {
		return 0, err
	}
	return firstStatus(replies, n), nil
}

// GrantPermission implements Service.
func (g *Gateway) GrantPermission(ctx context.Context, hubName, connectionID string, p Permission, target string) error {
	status, err := g.permission(ctx, opGrant, hubName, connectionID, p, target)
	if err != nil {
		return err
	}
	if status == replyTooManyGroups {
		return errTooManyGrants
	}
	return statusError(status)
}

// RevokePermission implements Service.
func (g *Gateway) RevokePermission(ctx context.Context, hubName, connectionID string, p Permission, target string) error {
	status, err := g.permission(ctx, opRevoke, hubName, connectionID, p, target)
	if err != nil {
		return err
	}
	return statusError(status)
}

// CheckPermission implements Service.
func (g *Gateway) CheckPermission(ctx context.Context, hubName, connectionID string, p Permission, target string) (bool, error) {
	status, err := g.permission(ctx, opCheck, hubName, connectionID, p, target)
	return err == nil && status == replyOK, err
}
