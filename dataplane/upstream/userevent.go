package upstream

import (
	"context"
	"fmt"
	"net/http"

	"github.com/kwps/kwps/dataplane/hubconfig"
)

// EventResponse is a handler's answer to a user event.
type EventResponse struct {
	// ContentType is the response's Content-Type; empty for a 204.
	ContentType string
	// Body is sent back to the client; empty for a 204 (and possibly for a 200).
	Body []byte
	// State is the new connection state; nil keeps it, a pointer to "" clears it.
	State *string
}

// UserEvent sends a user event (a custom event of a subprotocol client, or "message" for a raw
// WebSocket frame) with body as its data and contentType per PROTOCOL.md §6.4 (empty means
// ContentTypeBinary), and returns the handler's answer. It returns ErrNoHandler when no handler of the
// hub subscribes the event. A non-2xx answer, a timeout, a network error or a body over
// MaxResponseBytes is an error; the gateway then applies decision 4 (ack an error or disconnect).
func (c *Client) UserEvent(ctx context.Context, hub *hubconfig.Hub, conn Conn, event, contentType string, body []byte) (*EventResponse, error) {
	eh := FindHandler(hub, event, false)
	if eh == nil {
		return nil, ErrNoHandler
	}
	if c.closed() {
		return nil, ErrClosed
	}
	if !hub.Ready {
		return nil, ErrHubNotReady
	}
	if contentType == "" {
		contentType = ContentTypeBinary
	}
	ev := c.newEvent(eh, hub, conn, event, false, contentType, body)
	start := c.now()
	out, status, err := c.userEvent(ctx, ev)
	c.done(ev, status, 1, start, err)
	return out, err
}

func (c *Client) userEvent(ctx context.Context, ev *event) (*EventResponse, int, error) {
	resp, u, cancel, err := c.do(ctx, ev, c.eventTimeout)
	if err != nil {
		return nil, 0, err
	}
	defer cancel()
	defer closeBody(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, resp.StatusCode, fmt.Errorf("event handler %s: event %s answered %s", u.redacted, ev.name, resp.Status)
	}
	state, err := responseState(resp.Header)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("event handler %s: %w", u.redacted, err)
	}
	out := &EventResponse{State: state}
	if resp.StatusCode == http.StatusNoContent {
		return out, resp.StatusCode, nil
	}
	if out.Body, err = readBody(resp.Body, MaxResponseBytes); err != nil {
		return nil, resp.StatusCode, fmt.Errorf("event handler %s: event %s response body: %w", u.redacted, ev.name, redactErr(err))
	}
	if len(out.Body) == 0 {
		out.Body = nil
	}
	out.ContentType = resp.Header.Get("Content-Type")
	return out, resp.StatusCode, nil
}
