// Package backplane carries messages and commands between gateway processes so that several of them
// act as one service. A process subscribes to a channel only while it holds a connection that needs it
// (a hub, group, user or connection with local members), so messages reach only the processes that
// have recipients.
//
// Delivery is at most once: a message published while the transport is down, or that finds a full
// queue, is dropped and counted; order is kept per channel for each publisher. A process never receives
// its own publishes. Implementations: Memory (processes in one address space, for a single process and
// for tests) and Redis (Redis 7 pub/sub).
//
// The receivers count of Publish and Request is what makes existence checks and scatter-gather cheap:
// a process is subscribed to a connection's, user's or group's channel exactly while it holds a member,
// so "how many processes received this" answers "does it exist elsewhere" without a shared registry.
package backplane

import (
	"context"
	"errors"
)

// Handler receives what other processes publish on subscribed channels. reply is non-nil for a
// Request: calling it (at most once) sends the answer to the requester. Handlers run on the
// backplane's ingress workers: messages of one channel in order, never concurrently for one channel;
// a handler must not block.
type Handler func(channel string, payload []byte, reply func([]byte))

// Backplane is the transport between gateway processes. All methods are safe for concurrent use.
type Backplane interface {
	// ID identifies this process (unique among the processes sharing the backplane).
	ID() string
	// Subscribe and Unsubscribe change the channels this process receives. They return at once; the
	// change is applied in call order, shortly after.
	Subscribe(channels ...string)
	Unsubscribe(channels ...string)
	// Sync waits until every Subscribe and Unsubscribe made before it is in effect, so a message
	// published after Sync returns reaches this process.
	Sync(ctx context.Context) error
	// Flush waits until every Send made before it has been published, so a message published after
	// Flush returns reaches other processes after them, whatever its channel.
	Flush(ctx context.Context) error
	// Barrier waits until every message received before it has been handled, whatever its channel
	// (the Handler runs on several workers, which otherwise keep order only per channel). It must not
	// be called from a Handler, which would wait for itself.
	Barrier(ctx context.Context) error
	// Send publishes payload to channel without waiting: it is queued, and dropped (and counted) when
	// the queue is full or the transport is down. payload must not be modified after the call.
	Send(channel string, payload []byte)
	// Publish publishes payload and returns how many other processes received it.
	Publish(ctx context.Context, channel string, payload []byte) (receivers int, err error)
	// Request publishes payload and collects one reply from each other process that received it,
	// until all replied or ctx ends; on ctx's end it returns the replies so far with ctx's error.
	Request(ctx context.Context, channel string, payload []byte) (replies [][]byte, receivers int, err error)
	// SetHandler installs the receiver of messages; call it before the first Subscribe.
	SetHandler(h Handler)
	// Ready reports whether the transport is connected (for readiness probes).
	Ready() error
	// Stats returns counters for metrics.
	Stats() Stats
	// Close stops the backplane and waits for its goroutines.
	Close() error
}

// Stats are a backplane's counters since it started.
type Stats struct {
	Published, Received   uint64 // messages
	DroppedOut, DroppedIn uint64 // queue full, or transport down
	Reconnects            uint64
	Subscriptions         int // channels subscribed now
	Connected             bool
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("backplane: closed")

// ErrUnavailable is returned while the transport is down.
var ErrUnavailable = errors.New("backplane: unavailable")
