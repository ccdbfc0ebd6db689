package gateway

import (
	"context"
	"errors"
	"slices"
	"strings"
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

// publishGroup delivers m to group's local members.
func (g *Gateway) publishGroup(hubName, group string, m *protocol.Message, o SendOptions) {
	if h := g.lookupHub(hubName); h != nil {
		newDelivery(m, &o).toAll(h.groups.members(group))
	}
}

// SendToAll implements Service.
func (g *Gateway) SendToAll(_ context.Context, hubName string, p protocol.Payload, o SendOptions) error {
	if h := g.lookupHub(hubName); h != nil {
		d := newDelivery(serverMessage(p), &o)
		eachConn(h, d.to)
	}
	return nil
}

// SendToUser implements Service.
func (g *Gateway) SendToUser(_ context.Context, hubName, userID string, p protocol.Payload, o SendOptions) error {
	if h := g.lookupHub(hubName); h != nil {
		newDelivery(serverMessage(p), &o).toAll(h.users.members(userID))
	}
	return nil
}

// SendToConnection implements Service.
func (g *Gateway) SendToConnection(_ context.Context, hubName, connectionID string, p protocol.Payload, o SendOptions) error {
	if c := g.conn(hubName, connectionID); c != nil {
		newDelivery(serverMessage(p), &o).to(c)
	}
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
func (g *Gateway) ConnectionExists(_ context.Context, hubName, connectionID string) (bool, error) {
	return g.conn(hubName, connectionID) != nil, nil
}

// UserExists implements Service.
func (g *Gateway) UserExists(_ context.Context, hubName, userID string) (bool, error) {
	h := g.lookupHub(hubName)
	return h != nil && h.users.get(userID) != nil, nil
}

// GroupExists implements Service.
func (g *Gateway) GroupExists(_ context.Context, hubName, group string) (bool, error) {
	h := g.lookupHub(hubName)
	return h != nil && h.groups.get(group) != nil, nil
}

// CloseConnection implements Service.
func (g *Gateway) CloseConnection(_ context.Context, hubName, connectionID, reason string) error {
	if c := g.conn(hubName, connectionID); c != nil {
		c.Close(serverClose(reason))
	}
	return nil
}

func closeEach(conns []*Conn, o CloseOptions) {
	for _, c := range conns {
		if !slices.Contains(o.Excluded, c.id) {
			c.Close(serverClose(o.Reason))
		}
	}
}

// CloseUserConnections implements Service.
func (g *Gateway) CloseUserConnections(_ context.Context, hubName, userID string, o CloseOptions) error {
	if h := g.lookupHub(hubName); h != nil {
		closeEach(h.users.members(userID), o)
	}
	return nil
}

// CloseGroupConnections implements Service.
func (g *Gateway) CloseGroupConnections(_ context.Context, hubName, group string, o CloseOptions) error {
	if h := g.lookupHub(hubName); h != nil {
		closeEach(h.groups.members(group), o)
	}
	return nil
}

// CloseAllConnections implements Service.
func (g *Gateway) CloseAllConnections(_ context.Context, hubName string, o CloseOptions) error {
	if h := g.lookupHub(hubName); h != nil {
		eachConn(h, func(c *Conn) { closeEach([]*Conn{c}, o) })
	}
	return nil
}

// AddConnectionToGroup implements Service.
func (g *Gateway) AddConnectionToGroup(_ context.Context, hubName, group, connectionID string) error {
	c := g.conn(hubName, connectionID)
	if c == nil {
		return ErrConnectionNotFound
	}
	if err := c.join(group); err != nil && !errors.Is(err, errClosed) {
		return err
	}
	return nil
}

// RemoveConnectionFromGroup implements Service.
func (g *Gateway) RemoveConnectionFromGroup(_ context.Context, hubName, group, connectionID string) error {
	if c := g.conn(hubName, connectionID); c != nil {
		c.leave(group)
	}
	return nil
}

// RemoveConnectionFromAllGroups implements Service.
func (g *Gateway) RemoveConnectionFromAllGroups(_ context.Context, hubName, connectionID string) error {
	if c := g.conn(hubName, connectionID); c != nil {
		c.leaveAll()
	}
	return nil
}

// AddUserToGroup implements Service: every current connection of the user joins the group.
func (g *Gateway) AddUserToGroup(_ context.Context, hubName, group, userID string) error {
	if h := g.lookupHub(hubName); h != nil {
		for _, c := range h.users.members(userID) {
			if err := c.join(group); errors.Is(err, errTooManyGroups) {
				return err
			}
		}
	}
	return nil
}

// RemoveUserFromGroup implements Service.
func (g *Gateway) RemoveUserFromGroup(_ context.Context, hubName, group, userID string) error {
	if h := g.lookupHub(hubName); h != nil {
		for _, c := range h.users.members(userID) {
			c.leave(group)
		}
	}
	return nil
}

// RemoveUserFromAllGroups implements Service.
func (g *Gateway) RemoveUserFromAllGroups(_ context.Context, hubName, userID string) error {
	if h := g.lookupHub(hubName); h != nil {
		for _, c := range h.users.members(userID) {
			c.leaveAll()
		}
	}
	return nil
}

// AddConnectionsToGroups implements Service.
func (g *Gateway) AddConnectionsToGroups(_ context.Context, hubName string, groups []string, f *filter.Filter) error {
	var err error
	if h := g.lookupHub(hubName); h != nil {
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
	}
	return err
}

// RemoveConnectionsFromGroups implements Service.
func (g *Gateway) RemoveConnectionsFromGroups(_ context.Context, hubName string, groups []string, f *filter.Filter) error {
	if h := g.lookupHub(hubName); h != nil {
		eachConn(h, func(c *Conn) {
			if !f.Match(c) {
				return
			}
			for _, group := range groups {
				c.leave(group)
			}
		})
	}
	return nil
}

// ListGroupConnections implements Service.
func (g *Gateway) ListGroupConnections(_ context.Context, hubName, group, after string, limit int) ([]ConnectionInfo, bool, error) {
	h := g.lookupHub(hubName)
	if h == nil {
		return nil, false, nil
	}
	var page []ConnectionInfo
	for _, c := range h.groups.members(group) {
		if c.id > after {
			page = append(page, c.info())
		}
	}
	slices.SortFunc(page, func(a, b ConnectionInfo) int { return strings.Compare(a.ConnectionID, b.ConnectionID) })
	if len(page) > limit {
		return page[:limit], true, nil
	}
	return page, false, nil
}

// GrantPermission implements Service.
func (g *Gateway) GrantPermission(_ context.Context, hubName, connectionID string, p Permission, target string) error {
	c := g.conn(hubName, connectionID)
	if c == nil {
		return ErrConnectionNotFound
	}
	return c.grant(p, target)
}

// RevokePermission implements Service.
func (g *Gateway) RevokePermission(_ context.Context, hubName, connectionID string, p Permission, target string) error {
	c := g.conn(hubName, connectionID)
	if c == nil {
		return ErrConnectionNotFound
	}
	c.revoke(p, target)
	return nil
}

// CheckPermission implements Service.
func (g *Gateway) CheckPermission(_ context.Context, hubName, connectionID string, p Permission, target string) (bool, error) {
	c := g.conn(hubName, connectionID)
	return c != nil && c.checkPermission(p, target), nil
}
