package gateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/kwps/kwps/dataplane/protocol"
)

// Ack error names (DESIGN.md decision 7).
const (
	ackBadRequest          = "BadRequest"
	ackForbidden           = "Forbidden"
	ackInternalServerError = "InternalServerError"
	ackDuplicate           = "Duplicate"
)

// ackError is a failed request's ack.
type ackError struct{ name, message string }

func (e *ackError) Error() string { return e.name + ": " + e.message }

// handle processes one complete client message on the reader goroutine; data is valid only during the
// call. It returns ok=false with a cause when the connection must end.
func (c *Conn) handle(text bool, data []byte) (closeCause, bool) {
	if c.kind == protocol.Raw {
		return c.handleRaw(text, data)
	}
	req, err := codecs[c.kind].decode(data)
	if err != nil {
		return invalidMessage(err.Error()), false
	}
	c.handleRequest(&req)
	return closeCause{}, true
}

// handleRaw handles a simple WebSocket client's frame according to its webpubsub_mode.
func (c *Conn) handleRaw(text bool, data []byte) (closeCause, bool) {
	p := protocol.Payload{Type: protocol.Binary, Data: data}
	if text {
		p.Type = protocol.Text
	}
	if c.mode == rawSendToGroup {
		// Permissions can be revoked at runtime; a raw client has no ack to tell, so the frame is dropped.
		if c.allowed(PermSendToGroup, c.rawGroup) {
			c.publishFromClient(c.rawGroup, p, c.rawNoEcho)
		}
		return closeCause{}, true
	}
	return c.rawEvent(p)
}

// handleRequest runs one subprotocol request and acks it when it carries an ackId.
func (c *Conn) handleRequest(req *protocol.Request) {
	switch req.Type {
	case protocol.Ping:
		c.send(outFrame{head: systemFrame(c.kind, codecs[c.kind].pong)})
		return
	case protocol.SequenceAck:
		c.sequenceAck(req.SequenceID)
		return
	}
	if req.HasAckID && c.ackSeen(req.AckID) {
		c.sendAck(req.AckID, &ackError{ackDuplicate, "Message with ack-id: " + strconv.FormatUint(req.AckID, 10) + " has been processed"})
		return
	}
	var err error
	switch req.Type {
	case protocol.JoinGroup:
		err = c.requestJoin(req.Group)
	case protocol.LeaveGroup:
		err = c.requestLeave(req.Group)
	case protocol.SendToGroup:
		err = c.requestSend(req)
	case protocol.Event:
		// The event handler answers before the ack; it acks itself.
		c.userEvent(req)
		return
	}
	if req.HasAckID {
		c.finishAck(req.AckID, err)
	}
}

// finishAck records a successful ackId and sends the ack.
func (c *Conn) finishAck(ackID uint64, err error) {
	if err == nil {
		c.rememberAck(ackID)
		c.sendAck(ackID, nil)
		return
	}
	var ae *ackError
	if !errors.As(err, &ae) {
		ae = &ackError{ackInternalServerError, "Internal server error"}
	}
	c.sendAck(ackID, ae)
}

func (c *Conn) ackSeen(id uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acks.contains(id)
}

func (c *Conn) rememberAck(id uint64) {
	c.mu.Lock()
	c.acks.add(id)
	c.mu.Unlock()
}

func (c *Conn) sendAck(id uint64, ae *ackError) {
	var b []byte
	if ae == nil {
		b = codecs[c.kind].ack(nil, id, "", "")
	} else {
		b = codecs[c.kind].ack(nil, id, ae.name, ae.message)
	}
	c.send(outFrame{head: systemFrame(c.kind, b)})
}

func (c *Conn) requestJoin(group string) error {
	if !c.allowed(PermJoinLeaveGroup, group) {
		return &ackError{ackForbidden, fmt.Sprintf("The client does not have permission to join group '%s'.", group)}
	}
	if err := c.join(group); err != nil {
		return &ackError{ackBadRequest, err.Error()}
	}
	// Ack once messages for the group from other processes reach this connection.
	c.g.syncSubscriptions(context.Background())
	return nil
}

func (c *Conn) requestLeave(group string) error {
	if !c.allowed(PermJoinLeaveGroup, group) {
		return &ackError{ackForbidden, fmt.Sprintf("The client does not have permission to leave group '%s'.", group)}
	}
	c.leave(group)
	return nil
}

func (c *Conn) requestSend(req *protocol.Request) error {
	if !c.allowed(PermSendToGroup, req.Group) {
		return &ackError{ackForbidden, fmt.Sprintf("The client does not have permission to send to group '%s'.", req.Group)}
	}
	c.publishFromClient(req.Group, req.Payload, req.NoEcho)
	return nil
}

// publishFromClient sends a client's message to a group, as from the group with the sender's user.
func (c *Conn) publishFromClient(group string, p protocol.Payload, noEcho bool) {
	m := &protocol.Message{From: protocol.FromGroup, Group: group, FromUserID: c.userID, HasFromUserID: c.hasUser, Payload: p}
	var o SendOptions
	if noEcho {
		o.Excluded = []string{c.id}
	}
	c.g.publishGroup(c.hub.name, group, m, o)
}
