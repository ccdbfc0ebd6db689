// Package gateway serves Azure Web PubSub clients: the WebSocket upgrade with its authentication and
// subprotocol negotiation, connections with their groups, users and permissions, fan-out of messages,
// keepalive, and the Service that the REST API drives.
//
// Concurrency: every exported method is safe for concurrent use. A connection has one reader goroutine
// (for its lifetime) and at most one writer goroutine (only while it has frames to write). Fan-out never
// blocks on a socket: each connection has a bounded queue, and a connection that cannot keep up is
// disconnected. Lock order: Conn.mu, then index shard locks, then connSet.mu, then Conn.out.mu.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/backplane"
	"github.com/kwps/kwps/dataplane/hubconfig"
)

// Options configure a Gateway. Zero limits take the defaults documented on each field.
type Options struct {
	// Hubs is the hub configuration (required).
	Hubs *hubconfig.Store
	// Verifier checks client and reconnection tokens (required).
	Verifier *auth.Verifier
	// Keys sign reconnection tokens (required for reliable protocols).
	Keys *auth.KeySet
	// Events is the upstream event handler client; nil means no hub has event handlers.
	Events Events
	// Backplane joins this process to others so that they act as one service; nil: a single process.
	Backplane backplane.Backplane
	// Observer receives metrics events; nil ignores them.
	Observer Observer
	// Logger; nil uses slog.Default().
	Logger *slog.Logger

	// MaxMessageBytes bounds a client message, fragments included (default 1 MiB; bigger closes 1009).
	MaxMessageBytes int
	// MaxGroupsPerConnection bounds the groups one connection is in (default 1000).
	MaxGroupsPerConnection int
	// MaxQueueMessages and MaxQueueBytes bound a connection's outbound queue (defaults 1024 and 1 MiB,
	// Centrifuge's bytes default; one frame larger than the byte bound is let into an empty queue); a
	// connection whose queue overflows is disconnected as a slow consumer (a reliable one keeps its
	// session and can recover).
	MaxQueueMessages int
	MaxQueueBytes    int
	// WriteTimeout bounds one socket write (default 5 s); a write that takes longer disconnects the
	// connection as a slow consumer.
	WriteTimeout time.Duration
	// KeepAliveGrace is how long past two keepalive intervals a silent client is kept (default 10 s).
	KeepAliveGrace time.Duration
	// NoPoller gives every connection a reader goroutine even where epoll is available.
	NoPoller bool
	// ReliableSessionTimeout is how long a reliable connection whose socket dropped waits for the
	// client to recover it (default 60 s, DESIGN.md decision 3).
	ReliableSessionTimeout time.Duration
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = 1 << 20
	}
	if o.MaxGroupsPerConnection == 0 {
		o.MaxGroupsPerConnection = 1000
	}
	if o.MaxQueueMessages == 0 {
		o.MaxQueueMessages = 1024
	}
	if o.MaxQueueBytes == 0 {
		o.MaxQueueBytes = 1 << 20
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.KeepAliveGrace == 0 {
		o.KeepAliveGrace = 10 * time.Second
	}
	if o.ReliableSessionTimeout == 0 {
		o.ReliableSessionTimeout = 60 * time.Second
	}
}

// Gateway holds this process's connections, by hub.
type Gateway struct {
	opts    Options
	log     *slog.Logger
	metrics metrics
	bp      backplane.Backplane
	poller  atomic.Pointer[poller] // set while Run runs: idle connections wait here, not in a goroutine
	flush   *flusher               // writes polled transports' queues
	origin  uint64                 // this process, in message IDs
	msgSeq  atomic.Uint64          // message IDs

	hubsMu sync.RWMutex
	hubs   map[string]*hub

	draining  bool         // guarded by hubsMu: no new connections are accepted
	live      atomic.Int64 // connections registered and not yet ended
	restoring sync.Map     // connection IDs being taken over from another process
}

// hub is the state of one hub in this process.
type hub struct {
	name   string
	conns  connIndex
	groups setIndex
	users  setIndex

	liveMu sync.Mutex // orders the hub channel's subscribe and unsubscribe with the count
	live   int
}

// New returns a Gateway. Call Run to start keepalive.
func New(o Options) *Gateway {
	o.setDefaults()
	g := &Gateway{opts: o, log: o.Logger, metrics: metrics{o.Observer}, bp: o.Backplane, hubs: map[string]*hub{}, flush: newFlusher()}
	var origin [8]byte
	_, _ = rand.Read(origin[:])
	g.origin = binary.LittleEndian.Uint64(origin[:])
	if g.bp != nil {
		g.bp.SetHandler(g.onBackplane)
	}
	return g
}

// newHub creates a hub whose groups and users subscribe to their backplane channels while they have
// local members.
func (g *Gateway) newHub(name string) *hub {
	h := &hub{name: name}
	h.groups.onFirst = func(group string) { g.subscribe(chGroup(name, group)) }
	h.groups.onLast = func(group string) { g.unsubscribe(chGroup(name, group)) }
	h.users.onFirst = func(user string) { g.subscribe(chUser(name, user)) }
	h.users.onLast = func(user string) { g.unsubscribe(chUser(name, user)) }
	return h
}

// addLive and removeLive count the hub's local connections and keep the hub channel subscribed
// while there is one.
func (g *Gateway) addLive(h *hub) {
	h.liveMu.Lock()
	h.live++
	if h.live == 1 {
		g.subscribe(chHub(h.name))
	}
	h.liveMu.Unlock()
}

func (g *Gateway) removeLive(h *hub) {
	h.liveMu.Lock()
	h.live--
	if h.live == 0 {
		g.unsubscribe(chHub(h.name))
	}
	h.liveMu.Unlock()
}

// Run sends keepalive pings and closes dead connections, and (on Linux) polls idle connections for
// readability, until ctx ends.
func (g *Gateway) Run(ctx context.Context) {
	if !g.opts.NoPoller {
		if p, err := newPoller(); err == nil {
			g.poller.Store(p)
			go p.run()
			defer p.close() // registered transports are ended by their socket's close, not by the poller
		}
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			g.keepalive(now)
		}
	}
}

// Drain stops accepting connections and closes every connection with a close that advises the
// client to reconnect (1012), then waits for them to end or ctx to expire.
func (g *Gateway) Drain(ctx context.Context) error {
	g.hubsMu.Lock()
	g.draining = true
	g.hubsMu.Unlock()
	for _, h := range g.hubList() {
		h.conns.each(nil, func(c *Conn) {
			if g.bp != nil && c.kind.Reliable() {
				c.goAway(closeShutdown) // its client recovers on another process, which takes the session over
				return
			}
			c.Close(closeShutdown)
		})
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for g.live.Load() > 0 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			for _, h := range g.hubList() {
				h.conns.each(nil, func(c *Conn) { c.abort(closeShutdown) })
			}
			return ctx.Err()
		}
	}
	return nil
}

// Connections returns the number of connections of hub in this process.
func (g *Gateway) Connections(hubName string) int {
	if h := g.lookupHub(hubName); h != nil {
		return h.conns.len()
	}
	return 0
}

func (g *Gateway) lookupHub(name string) *hub {
	g.hubsMu.RLock()
	h := g.hubs[name]
	g.hubsMu.RUnlock()
	return h
}

// hubFor returns name's hub, creating it; nil while draining.
func (g *Gateway) hubFor(name string) *hub {
	if h := g.lookupHub(name); h != nil {
		return h
	}
	g.hubsMu.Lock()
	defer g.hubsMu.Unlock()
	if g.draining {
		return nil
	}
	h := g.hubs[name]
	if h == nil {
		h = g.newHub(name)
		g.hubs[name] = h
	}
	return h
}

func (g *Gateway) hubList() []*hub {
	g.hubsMu.RLock()
	defer g.hubsMu.RUnlock()
	list := make([]*hub, 0, len(g.hubs))
	for _, h := range g.hubs {
		list = append(list, h)
	}
	return list
}

// newConnectionID returns a random, URL-safe connection ID.
func newConnectionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ended is called once per registered connection, when it is over.
func (g *Gateway) ended(c *Conn, cause closeCause) {
	if g.log.Enabled(context.Background(), slog.LevelDebug) {
		g.log.Debug("connection closed", "hub", c.hub.name, "connectionId", c.id, "userId", c.userID,
			"category", cause.category, "code", int(cause.code), "reason", cause.reason)
	}
	g.metrics.closed(c, cause.category)
	g.disconnected(c, cause)
	g.live.Add(-1)
}
