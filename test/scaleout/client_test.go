package scaleout

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/kwps/kwps/dataplane/auth"
)

// jsonProtocol is the subprotocol the clients speak.
const jsonProtocol = "json.webpubsub.azure.v1"

// Bounds of a client: a frame or message larger than the service's 1 MB limit (with room for JSON
// escaping) ends it, and so does an inbox left unread.
const (
	maxMessage = 4 << 20
	inboxSize  = 8192
)

// message is a service-to-client message of json.webpubsub.azure.v1 (PROTOCOL.md §4.1).
type message struct {
	Type         string          `json:"type"`
	Event        string          `json:"event"`
	From         string          `json:"from"`
	Group        string          `json:"group"`
	FromUserID   *string         `json:"fromUserId"`
	DataType     string          `json:"dataType"`
	Data         json.RawMessage `json:"data"`
	ConnectionID string          `json:"connectionId"`
	Message      string          `json:"message"`
	AckID        *uint64         `json:"ackId"`
	Success      *bool           `json:"success"`
	Error        *struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"error"`

	raw string
}

// rawText is the Type of what a raw client receives: a text frame, whose payload is in raw.
const rawText = "raw text frame"

// text is the data of a text message, or a raw client's text frame; "" for anything else.
func (m message) text() string {
	if m.Type == rawText {
		return m.raw
	}
	var s string
	if m.Type != "message" || m.DataType != "text" || json.Unmarshal(m.Data, &s) != nil {
		return ""
	}
	return s
}

// clientOptions are the claims of a client's token, and whether it is a raw client (no subprotocol,
// PROTOCOL.md §4.5).
type clientOptions struct {
	user          string
	roles, groups []string
	raw           bool
}

// client is a json.webpubsub.azure.v1 WebSocket client on a real socket. One goroutine reads frames
// into the inbox (answering pings); a test reads the inbox from one goroutine at a time.
type client struct {
	tb   testing.TB
	name string // for failure messages, e.g. "A1"
	node *node
	hub  string
	id   string // connectionId ("" for a raw client)
	user string
	raw  bool

	conn    net.Conn
	wmu     sync.Mutex // serializes frame writes: the test and the reader's pongs
	inbox   chan message
	pending []message // read past while waiting for an ack; the reading goroutine's own
	ackID   atomic.Uint64

	overflow  atomic.Bool
	done      chan struct{} // closed when the reader ended; the fields below are set before
	endErr    error
	closeCode ws.StatusCode
	closeText string
}

// connect dials a client to n for hub with a token carrying o, and reads its connected message. A raw
// client has none, so it has no connection ID.
func (cl *cluster) connect(tb testing.TB, n *node, name, hub string, o clientOptions) *client {
	tb.Helper()
	return cl.connectWith(tb, n, name, hub, o, nil)
}

// connectWith is connect with a data-frame callback instead of the inbox (set before any data arrives).
func (cl *cluster) connectWith(tb testing.TB, n *node, name, hub string, o clientOptions, onData func([]byte)) *client {
	tb.Helper()
	token, err := auth.IssueClientToken(cl.key, auth.ClientTokenOptions{
		Audience: auth.ClientAudience(n.endpoint, hub), UserID: o.user, Roles: o.roles, Groups: o.groups,
	})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	protocol := jsonProtocol
	if o.raw {
		protocol = ""
	}
	d := ws.Dialer{}
	if protocol != "" {
		d.Protocols = []string{protocol}
	}
	conn, br, hs, err := d.Dial(ctx, auth.ClientURL(n.endpoint, hub, token))
	if err != nil {
		tb.Fatalf("client %s: dial %s: %v", name, n.name, err)
	}
	if hs.Protocol != protocol {
		conn.Close()
		tb.Fatalf("client %s: subprotocol %q, want %q", name, hs.Protocol, protocol)
	}
	c := &client{tb: tb, name: name, node: n, hub: hub, user: o.user, raw: o.raw, conn: conn,
		inbox: make(chan message, inboxSize), done: make(chan struct{})}
	r := io.Reader(br)
	if br == nil {
		r = bufio.NewReaderSize(conn, 16<<10)
	}
	// The connected message comes first, before any data: read it through the inbox.
	go c.readLoop(r, onData)
	tb.Cleanup(c.close)
	if c.raw {
		return c
	}
	m := c.next(waitFor)
	if m.Type != "system" || m.Event != "connected" || m.ConnectionID == "" {
		tb.Fatalf("client %s: first message %s, want the connected system message", name, m.raw)
	}
	c.id = m.ConnectionID
	return c
}

// readLoop reads frames until the connection ends. Data messages go to onData or, decoded, to the
// inbox; pings are answered; a close frame is recorded and echoed.
func (c *client) readLoop(r io.Reader, onData func([]byte)) {
	defer close(c.done)
	var msg []byte
	var op ws.OpCode   // of the message's first frame
	connected := c.raw // a raw client gets no connected message
	for {
		h, err := ws.ReadHeader(r)
		if err != nil {
			c.endErr = err
			return
		}
		if h.Length > maxMessage || int64(len(msg))+h.Length > maxMessage {
			c.endErr = fmt.Errorf("frame of %d bytes exceeds %d", h.Length, maxMessage)
			return
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(r, payload); err != nil {
			c.endErr = err
			return
		}
		if h.Masked {
			ws.Cipher(payload, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpPing:
			_ = c.writeFrame(ws.NewPongFrame(payload))
		case ws.OpPong:
		case ws.OpClose:
			c.closeCode, c.closeText = ws.ParseCloseFrameData(payload)
			_ = c.writeFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(c.closeCode, "")))
			c.endErr = io.EOF
			return
		default:
			if h.OpCode != ws.OpContinuation {
				op = h.OpCode
			}
			msg = append(msg, payload...)
			if !h.Fin {
				continue
			}
			if onData != nil && connected {
				onData(msg)
			} else {
				c.push(op, msg)
			}
			connected = true
			msg = nil
		}
	}
}

// push decodes a message into the inbox; a full inbox is recorded and fails the test at the next read.
func (c *client) push(op ws.OpCode, data []byte) {
	m := message{raw: string(data)}
	switch {
	case c.raw && op == ws.OpText:
		m.Type = rawText
	case c.raw:
		m.Type = "raw binary frame"
	case json.Unmarshal(data, &m) != nil:
		m = message{Type: "invalid", raw: string(data)}
	}
	select {
	case c.inbox <- m:
	default:
		c.overflow.Store(true)
	}
}

// writeFrame masks and writes one frame, as a client must.
func (c *client) writeFrame(f ws.Frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(waitFor))
	err := ws.WriteFrame(c.conn, ws.MaskFrameInPlace(f))
	_ = c.conn.SetWriteDeadline(time.Time{})
	return err
}

// sendJSON writes one request as a text frame.
func (c *client) sendJSON(v any) {
	c.tb.Helper()
	if err := c.trySendJSON(v); err != nil {
		c.tb.Fatalf("client %s: write: %v", c.name, err)
	}
}

// trySendJSON is sendJSON for goroutines other than the test's: it returns the error.
func (c *client) trySendJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.writeFrame(ws.NewTextFrame(data))
}

// isOpen reports whether the connection is still up.
func (c *client) isOpen() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// request sends a request with a new ackId and returns its ack, keeping the messages read past it.
func (c *client) request(req map[string]any) message {
	c.tb.Helper()
	id := c.ackID.Add(1)
	req["ackId"] = id
	c.sendJSON(req)
	var skipped []message
	deadline := time.Now().Add(waitFor)
	for {
		m, ok := c.tryNext(time.Until(deadline))
		if !ok {
			c.tb.Fatalf("client %s: no ack for %v within %s%s", c.name, req, waitFor, c.ended())
		}
		if m.Type == "ack" && m.AckID != nil && *m.AckID == id {
			c.pending = append(skipped, c.pending...)
			return m
		}
		skipped = append(skipped, m)
	}
}

// joinGroup joins group and fails unless the ack succeeds.
func (c *client) joinGroup(group string) {
	c.tb.Helper()
	if ack := c.request(map[string]any{"type": "joinGroup", "group": group}); ack.Success == nil || !*ack.Success {
		c.tb.Fatalf("client %s: joinGroup %q: %s", c.name, group, ack.raw)
	}
}

// sendToGroup publishes text to group and returns the ack.
func (c *client) sendToGroup(group, text string, noEcho bool) message {
	c.tb.Helper()
	return c.request(map[string]any{"type": "sendToGroup", "group": group, "dataType": "text", "data": text, "noEcho": noEcho})
}

// close ends the connection with a close frame and waits for the reader.
func (c *client) close() {
	if c.isOpen() {
		_ = c.writeFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
	}
	_ = c.conn.Close()
	<-c.done
}
