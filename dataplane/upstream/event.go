package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/kwps/kwps/dataplane/hubconfig"
)

// Conn is what every event says about its connection.
type Conn struct {
	// Hub is the connection's hub; it is lower-cased for ce-hub, ce-source and the URL.
	Hub string
	// ConnectionID is the connection id (ce-connectionId, and the message that ce-signature signs).
	ConnectionID string
	// UserID is the user id; empty means anonymous and omits ce-userId.
	UserID string
	// Subprotocol is the selected subprotocol, if any (ce-subprotocol).
	Subprotocol string
	// State is the connection state last set by the handler; empty omits ce-connectionState. It is
	// never sent with connect.
	State string
	// EventID returns the next ce-id of the connection (per-connection increasing). It is called once
	// per event, when the event is created, and a retry reuses the id. Nil uses a Client-wide counter.
	EventID func() uint64
}

// CloudEvents attribute values of Azure Web PubSub (PROTOCOL.md §6.1).
const (
	typeSystemPrefix = "azure.webpubsub.sys."
	typeUserPrefix   = "azure.webpubsub.user."
	awpsVersion      = "1.0"
)

// Content types of events (PROTOCOL.md §6.4). A user event's content type comes from the client frame.
const (
	ContentTypeText     = "text/plain"
	ContentTypeJSON     = "application/json"
	ContentTypeBinary   = "application/octet-stream"
	ContentTypeProtobuf = "application/x-protobuf"
	// contentTypeSystem is the content type of connect, connected and disconnected bodies.
	contentTypeSystem = "application/json; charset=utf-8"
)

// HTTP header names that are not CloudEvents attributes.
const (
	HeaderRequestOrigin   = "WebHook-Request-Origin"
	HeaderAllowedOrigin   = "WebHook-Allowed-Origin"
	headerConnectionState = "ce-connectionState"
	headerAWPSVersion     = "ce-awpsversion"
)

// MaxConnectionStateBytes bounds the ce-connectionState a handler may set.
const MaxConnectionStateBytes = 32 << 10

// ErrHubNotReady is returned (and async events are dropped) for a hub whose handlers have not passed
// validation: no event goes to an unvalidated URL.
var ErrHubNotReady = errors.New("hub is not ready: its event handlers have not passed validation")

// event is one event for one handler, ready to be sent (and re-sent on retry).
type event struct {
	handler     *hubconfig.EventHandler
	hub         string // canonical
	name        string // ce-eventName
	ceType      string
	system      bool
	conn        Conn
	id          uint64
	time        time.Time
	contentType string
	body        []byte
}

// newEvent fixes what stays the same across retries: the id and the time.
func (c *Client) newEvent(eh *hubconfig.EventHandler, hub *hubconfig.Hub, conn Conn, name string, system bool, contentType string, body []byte) *event {
	ev := &event{
		handler:     eh,
		hub:         hub.Name,
		name:        name,
		system:      system,
		conn:        conn,
		time:        c.now().UTC().Truncate(time.Second),
		contentType: contentType,
		body:        body,
	}
	if conn.Hub != "" {
		ev.hub = hubconfig.CanonicalHub(conn.Hub)
	}
	if system {
		ev.ceType = typeSystemPrefix + name
	} else {
		ev.ceType = typeUserPrefix + name
	}
	if conn.EventID != nil {
		ev.id = conn.EventID()
	} else {
		ev.id = c.nextID.Add(1)
	}
	return ev
}

// newRequest builds the CloudEvents binary-mode POST of ev.
func (c *Client) newRequest(ctx context.Context, ev *event) (*http.Request, handlerURL, error) {
	u, err := resolveURL(ctx, c.secrets, ev.handler, ev.hub, ev.name)
	if err != nil {
		return nil, handlerURL{}, err
	}
	e := cloudevents.NewEvent()
	e.SetID(strconv.FormatUint(ev.id, 10))
	e.SetSource("/hubs/" + ev.hub + "/client/" + ev.conn.ConnectionID)
	e.SetType(ev.ceType)
	e.SetTime(ev.time)
	e.SetExtension("awpsversion", awpsVersion)
	e.SetExtension("hub", ev.hub)
	e.SetExtension("eventname", ev.name)
	e.SetExtension("connectionid", ev.conn.ConnectionID)
	if ev.conn.UserID != "" {
		e.SetExtension("userid", ev.conn.UserID)
	}
	if ev.conn.Subprotocol != "" {
		e.SetExtension("subprotocol", ev.conn.Subprotocol)
	}
	if ev.conn.State != "" && (!ev.system || ev.name != hubconfig.EventConnect) {
		e.SetExtension("connectionstate", ev.conn.State)
	}
	if sig := Signature(ev.conn.ConnectionID, c.keys.Keys()); sig != "" {
		e.SetExtension("signature", sig)
	}
	if err := e.SetData(ev.contentType, ev.body); err != nil {
		return nil, u, fmt.Errorf("event %s: %w", ev.name, err)
	}
	if err := e.Validate(); err != nil {
		return nil, u, fmt.Errorf("event %s: %w", ev.name, err)
	}
	target, err := url.Parse(u.raw)
	if err != nil {
		return nil, u, fmt.Errorf("event handler %s: invalid URL", u.redacted)
	}
	req := (&http.Request{
		Method:     http.MethodPost,
		URL:        target,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, 16),
		Host:       target.Host,
	}).WithContext(ctx)
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		return nil, u, fmt.Errorf("event %s: %w", ev.name, err)
	}
	req.Header.Set(HeaderRequestOrigin, c.origin())
	if ev.handler.Auth.Type == hubconfig.AuthManagedIdentity {
		if c.tokens == nil {
			return nil, u, fmt.Errorf("event handler %s: auth type ManagedIdentity needs an identity token source, and none is configured", u.redacted)
		}
		tok, err := c.tokens.Token(ev.handler.Auth.Resource)
		if err != nil {
			return nil, u, fmt.Errorf("event handler %s: %w", u.redacted, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req, u, nil
}

// do sends one attempt of ev with its own timeout and returns the response (the caller closes its
// body, and must be done with it before cancel is called) or an error with the URL redacted.
func (c *Client) do(ctx context.Context, ev *event, timeout time.Duration) (*http.Response, handlerURL, context.CancelFunc, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	req, u, err := c.newRequest(ctx, ev)
	if err != nil {
		cancel()
		return nil, u, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		return nil, u, nil, &sendError{url: u.redacted, err: redactErr(err), timeout: isTimeout(err)}
	}
	return resp, u, cancel, nil
}

// sendError is a failure to get a response from a handler.
type sendError struct {
	url     string // redacted
	err     error
	timeout bool
}

func (e *sendError) Error() string {
	if e.timeout {
		return "event handler " + e.url + ": timed out: " + e.err.Error()
	}
	return "event handler " + e.url + ": " + e.err.Error()
}

func (e *sendError) Unwrap() error { return e.err }

// redactErr strips the URL from the *url.Error that http.Client returns: it holds the code.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// isTimeout reports whether err is a timeout (of the event's context or of the client).
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// responseState reads ce-connectionState from a response: nil when absent, a pointer to "" when sent
// empty (clear). More than one header, or one over MaxConnectionStateBytes, is an error.
func responseState(h http.Header) (*string, error) {
	v, ok := h[http.CanonicalHeaderKey(headerConnectionState)]
	if !ok {
		return nil, nil
	}
	if len(v) != 1 {
		return nil, errors.New("more than one ce-connectionState header")
	}
	if len(v[0]) > MaxConnectionStateBytes {
		return nil, fmt.Errorf("ce-connectionState is over %d bytes", MaxConnectionStateBytes)
	}
	s := v[0]
	return &s, nil
}
