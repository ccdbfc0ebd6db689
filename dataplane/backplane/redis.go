package backplane

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// Redis is the backplane over Redis 7 pub/sub, for several processes acting as one service.
//
// Every channel name is prefixed with RedisOptions.Prefix; each process also listens on its own
// reply channel, <prefix>node:<id> (so user channels must not start with "node:"). Payloads travel
// in an envelope that names the origin process (a process drops its own messages) and, for requests,
// the request ID and the channel to reply to.
//
// Goroutines, each of which ends with Close:
//   - the read loop owns the one pub/sub connection and never blocks: it hands messages to the
//     ingress workers (hashed by channel, bounded, dropping when full) and replies to the waiting
//     Requests;
//   - the subscriber applies Subscribe and Unsubscribe in call order, batched into few commands;
//   - the outbound workers (hashed by channel) pipeline PUBLISH commands, from Send's bounded queue
//     and for Publish and Request, which wait for their result;
//   - the health check pings Redis; together with the read loop it decides Ready.
//
// go-redis reconnects the pub/sub connection after an error and subscribes it again to every channel;
// a connection that stays silent (a half-open TCP connection) is replaced here.
//
// Lock order: psMu before subs.appliedMu; every other lock is a leaf.
type Redis struct {
	opts        RedisOptions
	client      *redis.Client // commands: PUBLISH, PING
	subClient   *redis.Client // the pub/sub connection, on its own client to learn its CLIENT ID
	psClientID  atomic.Int64  // Redis's ID of the newest pub/sub connection
	addr        string        // host:port, for logs
	replyCh     string        // <prefix>node:<id>: the replies to this process's requests
	replyPrefix string        // <prefix>node:

	in      *ingress
	subs    subscriptions
	out     outbound
	pending pending

	// ps is the pub/sub connection. psMu serializes its users other than the read loop (subscribe,
	// replace, close), so that a replacement subscribes to every channel applied so far.
	psMu sync.Mutex
	ps   atomic.Pointer[redis.PubSub]
	sync syncState

	health health

	ctx    context.Context // ends at Close: aborts Redis calls in flight
	cancel context.CancelFunc
	done   chan struct{} // closed at Close
	closed atomic.Bool
	wg     sync.WaitGroup

	published, droppedOut atomic.Uint64
}

var _ Backplane = (*Redis)(nil)

// NewRedis connects to Redis and starts the backplane. It returns once Redis answered and the reply
// channel is subscribed, or with an error wrapping ErrUnavailable when ctx ends first. Later outages
// need no action: the backplane reconnects by itself and reports them through Ready and Stats.
func NewRedis(ctx context.Context, o RedisOptions) (*Redis, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	co, err := clientOptions(o.URL, o.PingInterval)
	if err != nil {
		return nil, err
	}
	so, _ := clientOptions(o.URL, o.PingInterval) // parsed fine just above
	base, cancel := context.WithCancel(context.Background())
	r := &Redis{
		opts:        o,
		client:      redis.NewClient(co),
		addr:        co.Addr,
		replyCh:     o.Prefix + "node:" + o.ID,
		replyPrefix: o.Prefix + "node:",
		in:          newIngress(o.Ingress),
		ctx:         base,
		cancel:      cancel,
		done:        make(chan struct{}),
	}
	r.opts.Logger = o.Logger.With("backplane", "redis", "addr", r.addr, "id", o.ID)
	so.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
		if id, err := cn.ClientID(ctx).Result(); err == nil {
			r.psClientID.Store(id)
		}
		return nil
	}
	r.subClient = redis.NewClient(so)
	r.subs.init()
	r.sync.init()
	r.out.init(o)
	r.pending.init(o.MaxPendingRequests)
	r.health.init(r.opts.Logger)
	r.ps.Store(r.subClient.Subscribe(ctx, r.replyCh)) // the dial honours ctx; later ones use base

	r.wg.Add(3 + len(r.out.queues))
	go r.readLoop()
	go r.subscribeLoop()
	go r.healthLoop()
	for _, q := range r.out.queues {
		go r.publishLoop(q)
	}

	select {
	case <-r.health.ready:
		return r, nil
	case <-ctx.Done():
		cause := r.health.lastError()
		_ = r.Close()
		if cause == nil {
			cause = ctx.Err()
		}
		return nil, fmt.Errorf("%w: redis at %s: %w", ErrUnavailable, r.addr, cause)
	}
}

// ID implements Backplane.
func (r *Redis) ID() string { return r.opts.ID }

// SetHandler implements Backplane.
func (r *Redis) SetHandler(h Handler) { r.in.setHandler(h) }

// Ready implements Backplane: ErrUnavailable from the moment the pub/sub connection fails or a PING
// goes unanswered, until both work again.
func (r *Redis) Ready() error {
	switch {
	case r.closed.Load():
		return ErrClosed
	case !r.health.up.Load():
		return ErrUnavailable
	}
	return nil
}

// Stats implements Backplane. Published and DroppedOut count Send, Publish and Request messages and
// replies; Received counts the messages handed to the ingress queue; DroppedIn also counts received
// messages that were malformed or larger than MaxMessageBytes.
func (r *Redis) Stats() Stats {
	return Stats{
		Published:     r.published.Load(),
		Received:      r.in.received.Load(),
		DroppedOut:    r.droppedOut.Load(),
		DroppedIn:     r.in.dropped.Load(),
		Reconnects:    r.health.reconnects.Load(),
		Subscriptions: r.subs.count(),
		Connected:     r.health.up.Load() && !r.closed.Load(),
	}
}

// Close implements Backplane: pending Requests and Publishes return ErrClosed, queued messages are
// dropped, every goroutine ends, and the Redis connections close. It must not be called from a
// Handler.
func (r *Redis) Close() error {
	if !r.closed.CompareAndSwap(false, true) {
		return nil
	}
	r.cancel()
	close(r.done)
	r.psMu.Lock()
	_ = r.ps.Load().Close() // ends the read loop's blocking read
	r.psMu.Unlock()
	r.wg.Wait()
	r.in.stop()
	return errors.Join(r.subClient.Close(), r.client.Close())
}
