package upstream

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kwps/kwps/dataplane/auth"
)

// Defaults of Options.
const (
	DefaultConnectTimeout  = 10 * time.Second
	DefaultEventTimeout    = 30 * time.Second
	DefaultMaxPendingAsync = 10000
)

// Options configure a Client. Only Keys and Origin are needed; every other field has a default.
type Options struct {
	// Keys sign every event (ce-signature). A nil or empty set sends no signature.
	Keys *auth.KeySet
	// Origin returns the WebHook-Request-Origin value: Origin(publicEndpoint). It is called per event,
	// so a changed endpoint applies at once.
	Origin func() string
	// HTTPClient sends the events; nil uses NewHTTPClient(). Per-event timeouts apply either way.
	HTTPClient *http.Client
	// TokenSource supplies bearer tokens for ManagedIdentity handlers; nil makes events to such a
	// handler fail with an error that says so.
	TokenSource TokenSource
	// Secrets resolves CodeSecretRef; nil makes events to a handler with a ref fail with an error that
	// says so.
	Secrets SecretResolver
	// ConnectTimeout bounds a connect event (DefaultConnectTimeout when 0).
	ConnectTimeout time.Duration
	// EventTimeout bounds a user event, and each attempt of connected and disconnected
	// (DefaultEventTimeout when 0).
	EventTimeout time.Duration
	// MaxPendingAsync bounds the connected and disconnected events queued or in flight; more are dropped
	// and counted (DefaultMaxPendingAsync when 0).
	MaxPendingAsync int
	// Logger receives failures of non-blocking events and drops; nil discards.
	Logger *slog.Logger
	// Observer, when set, is told about every finished and every dropped event (for metrics).
	Observer Observer
}

// Observer is told the outcome of events, for metrics. Its methods are called on the sending goroutine
// and must not block.
type Observer interface {
	// EventDone is called once per event that was sent (successfully or not).
	EventDone(EventRecord)
	// EventDropped is called for a connected or disconnected event that was never sent: the pending
	// queue was full, the hub was not ready, or the Client closed.
	EventDropped(hub, event string)
}

// EventRecord describes one finished event.
type EventRecord struct {
	// Hub is the hub of the connection.
	Hub string
	// Event is the event name: connect, connected, disconnected or the user event's name.
	Event string
	// System is true for connect, connected and disconnected. User event names come from clients, so a
	// metric should not use them as a label unbounded.
	System bool
	// Status is the last HTTP status received, 0 when none.
	Status int
	// Err is nil when the event succeeded.
	Err error
	// Attempts is how many times the event was sent (more than 1 only for retried async events).
	Attempts int
	// Duration is from the first attempt to the outcome, retry delays included.
	Duration time.Duration
}

// Stats is a snapshot of a Client's counters.
type Stats struct {
	// Sent and Failed count finished events by outcome.
	Sent, Failed uint64
	// Retries counts extra attempts of connected and disconnected events.
	Retries uint64
	// Dropped counts connected and disconnected events that were never sent.
	Dropped uint64
	// Pending is the number of connected and disconnected events queued or in flight.
	Pending int64
}

// ErrClosed is returned by a Client after Close.
var ErrClosed = errors.New("upstream client is closed")

// ErrNoHandler is returned by UserEvent when no handler of the hub subscribes the event.
var ErrNoHandler = errors.New("no event handler for this event")

// defaultRetryDelays are the waits before the 2nd, 3rd and 4th attempt of an async event (EMU).
var defaultRetryDelays = []time.Duration{time.Second, 3 * time.Second, 5 * time.Second}

// Client sends events to event handlers. It is safe for concurrent use; create it with New and stop it
// with Close.
type Client struct {
	keys           *auth.KeySet
	origin         func() string
	http           *http.Client
	ownHTTP        bool
	tokens         TokenSource
	secrets        SecretResolver
	connectTimeout time.Duration
	eventTimeout   time.Duration
	maxPending     int64
	log            *slog.Logger
	obs            Observer
	now            func() time.Time
	retryDelays    []time.Duration

	nextID atomic.Uint64 // ce-id for a Conn without EventID

	// ctx ends when Close gives up waiting: in-flight async events and retry waits stop.
	ctx    context.Context
	cancel context.CancelFunc
	queues asyncQueues
	wg     sync.WaitGroup // one per running connection queue

	pending                        atomic.Int64
	lastDropLog                    atomic.Int64 // unix nanoseconds
	sent, failed, retries, dropped atomic.Uint64
}

// New returns a Client.
func New(o Options) *Client {
	c := &Client{
		keys:           o.Keys,
		origin:         o.Origin,
		http:           o.HTTPClient,
		tokens:         o.TokenSource,
		secrets:        o.Secrets,
		connectTimeout: o.ConnectTimeout,
		eventTimeout:   o.EventTimeout,
		maxPending:     int64(o.MaxPendingAsync),
		log:            o.Logger,
		obs:            o.Observer,
		now:            time.Now,
		retryDelays:    defaultRetryDelays,
	}
	if c.origin == nil {
		c.origin = func() string { return "" }
	}
	if c.http == nil {
		c.http, c.ownHTTP = NewHTTPClient(), true
	}
	if c.connectTimeout <= 0 {
		c.connectTimeout = DefaultConnectTimeout
	}
	if c.eventTimeout <= 0 {
		c.eventTimeout = DefaultEventTimeout
	}
	if c.maxPending <= 0 {
		c.maxPending = DefaultMaxPendingAsync
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.queues.init()
	return c
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	return Stats{
		Sent:    c.sent.Load(),
		Failed:  c.failed.Load(),
		Retries: c.retries.Load(),
		Dropped: c.dropped.Load(),
		Pending: c.pending.Load(),
	}
}

// Close stops accepting events, waits until the pending connected and disconnected events are sent or
// ctx ends, then aborts what is left and waits for every goroutine of the Client to exit. It returns
// ctx's error if events were abandoned. Blocking calls after Close return ErrClosed.
func (c *Client) Close(ctx context.Context) error {
	c.queues.close()
	drained := make(chan struct{})
	go func() { c.wg.Wait(); close(drained) }()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
	}
	c.cancel()
	<-drained
	if c.ownHTTP {
		c.http.CloseIdleConnections()
	}
	return err
}

// closed reports whether Close was called.
func (c *Client) closed() bool { return c.queues.closed.Load() }

// done records the outcome of an event.
func (c *Client) done(ev *event, status, attempts int, start time.Time, err error) {
	if err == nil {
		c.sent.Add(1)
	} else {
		c.failed.Add(1)
	}
	if c.obs != nil {
		c.obs.EventDone(EventRecord{
			Hub: ev.hub, Event: ev.name, System: ev.system, Status: status,
			Err: err, Attempts: attempts, Duration: c.now().Sub(start),
		})
	}
}

// drop records an async event that was never sent. A full queue drops in bursts, so the log line is
// written at most once a second; the counter and the Observer see every drop.
func (c *Client) drop(hub, name, connID, why string) {
	total := c.dropped.Add(1)
	now := c.now().UnixNano()
	if last := c.lastDropLog.Load(); now-last >= int64(time.Second) && c.lastDropLog.CompareAndSwap(last, now) {
		c.log.Warn("event handler events dropped", "hub", hub, "event", name, "connectionId", connID, "reason", why, "droppedTotal", total)
	}
	if c.obs != nil {
		c.obs.EventDropped(hub, name)
	}
}
