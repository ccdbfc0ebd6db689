package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gobwas/ws"

	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/protocol"
	"github.com/kwps/kwps/dataplane/upstream"
)

// Events is the upstream event-handler client; *upstream.Client implements it. Connect and UserEvent
// block (bounded by the client's timeouts); Connected and Disconnected never block.
type Events interface {
	Connect(ctx context.Context, hub *hubconfig.Hub, conn upstream.Conn, req upstream.ConnectRequest) (*upstream.ConnectResponse, error)
	UserEvent(ctx context.Context, hub *hubconfig.Hub, conn upstream.Conn, event, contentType string, body []byte) (*upstream.EventResponse, error)
	Connected(hub *hubconfig.Hub, conn upstream.Conn)
	Disconnected(hub *hubconfig.Hub, conn upstream.Conn, reason string)
}

// rawEventName is the user event a simple WebSocket client's frames become.
const rawEventName = "message"

func (c *Conn) upstreamConn() upstream.Conn {
	return upstream.Conn{
		Hub: c.hub.name, ConnectionID: c.id, UserID: c.userID, Subprotocol: c.subprotocol,
		State: c.connectionState(), EventID: c.nextEventID,
	}
}

// nextEventID numbers a connection's events after connect (which is 0).
func (c *Conn) nextEventID() uint64 { return c.eventID.Add(1) }

func (g *Gateway) hasHandler(cfg *hubconfig.Hub, event string, system bool) bool {
	return g.opts.Events != nil && upstream.FindHandler(cfg, event, system) != nil
}

// callUserEvent sends a user event and applies the connection state the handler returned. While it
// waits, the keepalive loop does not count the silence against the client.
func (c *Conn) callUserEvent(cfg *hubconfig.Hub, event string, p protocol.Payload) (*upstream.EventResponse, error) {
	c.busy.Store(true)
	defer func() { c.touch(); c.busy.Store(false) }()
	resp, err := c.g.opts.Events.UserEvent(context.Background(), cfg, c.upstreamConn(), event, p.Type.ContentType(), p.Data)
	if err != nil {
		return nil, err
	}
	if resp.State != nil {
		c.setConnectionState(*resp.State)
	}
	return resp, nil
}

// rawEvent sends a simple client's frame upstream as the "message" event and writes the answer back as
// a frame. With no handler for it, or when the handler fails, the connection is dropped, as Azure does.
func (c *Conn) rawEvent(p protocol.Payload) (closeCause, bool) {
	cfg := c.g.opts.Hubs.Get(c.hub.name)
	if !c.g.hasHandler(cfg, rawEventName, false) {
		return closeCause{ws.StatusNormalClosure, "No event handler is configured for the 'message' event.", CategoryUserError}, false
	}
	resp, err := c.callUserEvent(cfg, rawEventName, p)
	if err != nil {
		c.g.log.Warn("user event failed", "hub", c.hub.name, "connectionId", c.id, "userId", c.userID, "event", rawEventName, "error", err)
		return closeCause{ws.StatusInternalServerError, "The event handler failed.", CategoryInternalServerError}, false
	}
	if len(resp.Body) > 0 {
		dt, _ := protocol.DataTypeOf(resp.ContentType)
		op := ws.OpBinary
		if dt == protocol.Text || dt == protocol.JSONData {
			op = ws.OpText
		}
		c.send(outFrame{head: newFrame(op, resp.Body)})
	}
	return closeCause{}, true
}

// userEvent sends a subprotocol client's event upstream. The handler's answer reaches the client as a
// message from the server, before the ack. A failure is an InternalServerError ack and the connection
// stays (DESIGN.md decision 4).
func (c *Conn) userEvent(req *protocol.Request) {
	cfg := c.g.opts.Hubs.Get(c.hub.name)
	if !c.g.hasHandler(cfg, req.Event, false) {
		if req.HasAckID {
			c.sendAck(req.AckID, &ackError{ackInternalServerError, fmt.Sprintf("No event handler is configured for event '%s'.", req.Event)})
		}
		return
	}
	resp, err := c.callUserEvent(cfg, req.Event, req.Payload)
	if err != nil {
		c.g.log.Warn("user event failed", "hub", c.hub.name, "connectionId", c.id, "userId", c.userID, "event", req.Event, "error", err)
		if req.HasAckID {
			c.sendAck(req.AckID, &ackError{ackInternalServerError, "Internal server error"})
		}
		return
	}
	if len(resp.Body) > 0 {
		dt, _ := protocol.DataTypeOf(resp.ContentType)
		if dt == protocol.JSONData && !json.Valid(resp.Body) {
			dt = protocol.Text
		}
		newDelivery(c.g.newPost(serverMessage(protocol.Payload{Type: dt, Data: resp.Body}), &SendOptions{})).to(c)
	}
	if req.HasAckID {
		c.finishAck(req.AckID, nil)
	}
}

// connected tells the upstream a connection is established.
func (g *Gateway) connected(c *Conn, cfg *hubconfig.Hub) {
	if g.hasHandler(cfg, hubconfig.EventConnected, true) {
		g.opts.Events.Connected(cfg, c.upstreamConn())
	}
}

// disconnected tells the upstream an accepted connection ended, and why.
func (g *Gateway) disconnected(c *Conn, cause closeCause) {
	cfg := g.opts.Hubs.Get(c.hub.name)
	if g.hasHandler(cfg, hubconfig.EventDisconnected, true) {
		g.opts.Events.Disconnected(cfg, c.upstreamConn(), cause.reason)
	}
}

// connectError is how a failed connect event answers the client's upgrade: a 4xx from the handler is
// passed on, anything else rejects the connection with 500.
func connectError(err error) (status int, body string) {
	var se *upstream.StatusError
	if errors.As(err, &se) {
		return se.Code, se.Body
	}
	return 500, "The connect event handler failed."
}
