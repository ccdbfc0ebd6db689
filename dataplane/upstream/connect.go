package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/kwps/kwps/dataplane/hubconfig"
)

// Bounds of handler responses.
const (
	// MaxResponseBytes bounds the body of a connect or user event response; a bigger one is an error.
	MaxResponseBytes = 1 << 20
	// MaxStatusBodyBytes bounds the body kept in a StatusError.
	MaxStatusBodyBytes = 4 << 10
)

// ConnectRequest is the body of a connect event (PROTOCOL.md §6.2). Nil maps and slices are sent
// empty ({} and []), as the service does.
type ConnectRequest struct {
	Claims             map[string][]string `json:"claims"`
	Query              map[string][]string `json:"query"`
	Headers            map[string][]string `json:"headers"`
	Subprotocols       []string            `json:"subprotocols"`
	ClientCertificates []ClientCertificate `json:"clientCertificates"`
}

// ClientCertificate is a client TLS certificate of a connect event.
type ClientCertificate struct {
	// Thumbprint is the SHA-1 thumbprint in hex.
	Thumbprint string `json:"thumbprint"`
	// Content is the PEM encoding.
	Content string `json:"content"`
}

// MarshalJSON writes nil maps as {} and nil slices as [].
func (r ConnectRequest) MarshalJSON() ([]byte, error) {
	type plain ConnectRequest
	p := plain(r)
	if p.Claims == nil {
		p.Claims = map[string][]string{}
	}
	if p.Query == nil {
		p.Query = map[string][]string{}
	}
	if p.Headers == nil {
		p.Headers = map[string][]string{}
	}
	if p.Subprotocols == nil {
		p.Subprotocols = []string{}
	}
	if p.ClientCertificates == nil {
		p.ClientCertificates = []ClientCertificate{}
	}
	return json.Marshal(p)
}

// ConnectResponse is what a handler changed about a connection. A nil field means "keep what the token
// said" (decision 6): a 204, or a 200 without a body or without that field, changes nothing.
type ConnectResponse struct {
	// UserID replaces the token's subject.
	UserID *string
	// Groups replaces the groups the connection joins.
	Groups *[]string
	// Roles replaces the token's roles.
	Roles *[]string
	// Subprotocol is the subprotocol the handler selected; empty when it selected none.
	Subprotocol string
	// State is the initial connection state; a pointer to "" clears it.
	State *string
}

// connectResponseJSON is the 200 body; pointers tell absent from empty.
type connectResponseJSON struct {
	UserID      *string   `json:"userId"`
	Groups      *[]string `json:"groups"`
	Roles       *[]string `json:"roles"`
	Subprotocol *string   `json:"subprotocol"`
}

// parseConnectResponse decodes a connect 2xx body; blank or `null` changes nothing (the express SDK
// answers an empty 200 when the app calls success() without a value).
func parseConnectResponse(body []byte) (*ConnectResponse, error) {
	out := &ConnectResponse{}
	if len(bytes.TrimSpace(body)) == 0 {
		return out, nil
	}
	var v connectResponseJSON
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("connect response is not valid JSON: %w", err)
	}
	out.UserID, out.Groups, out.Roles = v.UserID, v.Groups, v.Roles
	if v.Subprotocol != nil {
		out.Subprotocol = *v.Subprotocol
	}
	return out, nil
}

// StatusError is a connect event that the handler answered with a 4xx: the gateway answers the
// client's WebSocket upgrade with Code and Body. Any other failure of Connect is another error type.
type StatusError struct {
	// Code is the handler's HTTP status (400-499).
	Code int
	// Body is the start of the handler's response body (at most MaxStatusBodyBytes).
	Body string
}

// Error says which status the handler answered; the body is left out, it is the client's to see.
func (e *StatusError) Error() string {
	return "event handler rejected the connection with status " + strconv.Itoa(e.Code)
}

// Connect sends the connect event of a connection and returns what the handler changed about it. With
// no handler subscribing connect, it returns an empty ConnectResponse (accept, change nothing). A 4xx
// from the handler is a *StatusError; a 5xx, a timeout, a network error or a body that is not a
// connect response is another error, on which the gateway rejects the connection.
func (c *Client) Connect(ctx context.Context, hub *hubconfig.Hub, conn Conn, req ConnectRequest) (*ConnectResponse, error) {
	eh := FindHandler(hub, hubconfig.EventConnect, true)
	if eh == nil {
		return &ConnectResponse{}, nil
	}
	if c.closed() {
		return nil, ErrClosed
	}
	if !hub.Ready {
		return nil, ErrHubNotReady
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("connect event: %w", err)
	}
	ev := c.newEvent(eh, hub, conn, hubconfig.EventConnect, true, contentTypeSystem, body)
	start := c.now()
	out, status, err := c.connect(ctx, ev)
	c.done(ev, status, 1, start, err)
	return out, err
}

func (c *Client) connect(ctx context.Context, ev *event) (*ConnectResponse, int, error) {
	resp, u, cancel, err := c.do(ctx, ev, c.connectTimeout)
	if err != nil {
		return nil, 0, err
	}
	defer cancel()
	defer closeBody(resp)
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		// Only the start of the body is relayed; a read error leaves what arrived.
		b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxStatusBodyBytes))
		return nil, resp.StatusCode, &StatusError{Code: resp.StatusCode, Body: string(b)}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, resp.StatusCode, fmt.Errorf("event handler %s: connect answered %s", u.redacted, resp.Status)
	}
	state, err := responseState(resp.Header)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("event handler %s: %w", u.redacted, err)
	}
	var out *ConnectResponse
	if resp.StatusCode == http.StatusNoContent {
		out = &ConnectResponse{}
	} else {
		body, err := readBody(resp.Body, MaxResponseBytes)
		if err != nil {
			return nil, resp.StatusCode, fmt.Errorf("event handler %s: connect response body: %w", u.redacted, redactErr(err))
		}
		if out, err = parseConnectResponse(body); err != nil {
			return nil, resp.StatusCode, fmt.Errorf("event handler %s: %w", u.redacted, err)
		}
	}
	out.State = state
	return out, resp.StatusCode, nil
}
