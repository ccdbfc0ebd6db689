package backplane

import (
	"errors"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Reconnect backoff of the read loop: doubling from the minimum, jittered, capped so that recovery
// after an outage takes at most about a second.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = time.Second
)

// readLoop receives from the pub/sub connection until Close. It never blocks on a consumer: messages
// go to bounded ingress queues (or are dropped), replies to their waiters.
func (r *Redis) readLoop() {
	defer r.wg.Done()
	backoff := minBackoff
	silence := 3 * r.opts.PingInterval
	for {
		ps := r.ps.Load()
		msg, err := ps.ReceiveTimeout(r.ctx, silence)
		if r.closed.Load() {
			return
		}
		if err != nil {
			r.health.set(&r.health.pubsub, false, err)
			if isTimeout(err) {
				// Not even a pong for three ping intervals: the connection is half-open.
				r.replacePubSub(ps)
			}
			if !r.sleep(jitter(backoff)) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		r.health.set(&r.health.pubsub, true, nil)
		switch m := msg.(type) {
		case *redis.Message:
			r.dispatch(m.Channel, m.Payload)
		case *redis.Pong:
			r.sync.pong(m.Payload)
		}
	}
}

// dispatch routes one received message: replies to their Request, the rest to the ingress queue.
func (r *Redis) dispatch(channel, data string) {
	if len(data) > r.opts.MaxMessageBytes+maxIDLen+maxReplyToLen+32 {
		r.in.dropped.Add(1)
		return
	}
	e, err := decodeEnvelope(data)
	if err != nil {
		r.in.dropped.Add(1)
		return
	}
	if e.origin == r.opts.ID {
		return // our own publish, as Redis echoes it to our subscription
	}
	if channel == r.replyCh {
		if e.kind == kindReply {
			r.pending.deliver(e.requestID, []byte(e.body))
		}
		return
	}
	if e.kind == kindReply || !strings.HasPrefix(channel, r.opts.Prefix) {
		return
	}
	d := delivery{channel: channel[len(r.opts.Prefix):], payload: []byte(e.body)}
	if e.kind == kindRequest {
		// Reply only to another process's reply channel under our prefix: a malformed message must
		// not make this process publish elsewhere.
		if len(e.replyTo) <= len(r.replyPrefix) || !strings.HasPrefix(e.replyTo, r.replyPrefix) {
			r.in.dropped.Add(1)
			return
		}
		d.reply = r.replier(strings.Clone(e.replyTo), e.requestID)
	}
	r.in.push(d)
}

// replier returns the reply function of one received request: it queues at most one reply.
func (r *Redis) replier(replyTo string, id uint64) func([]byte) {
	var once atomic.Bool
	return func(payload []byte) {
		if !once.CompareAndSwap(false, true) {
			return
		}
		e := envelope{kind: kindReply, origin: r.opts.ID, requestID: id, payload: payload}
		r.send(replyTo, &e)
	}
}

// replacePubSub swaps a silent pub/sub connection for a new one subscribed to the same channels.
// go-redis reconnects by itself after an error, but a timeout leaves its connection in place.
//
// Redis may still hold the silent connection's subscriptions (it notices a dead peer only through
// TCP keepalive, minutes later) and would count this process twice, so that Requests would wait for
// a reply that never comes; the health check kills that connection on the server.
func (r *Redis) replacePubSub(old *redis.PubSub) {
	r.psMu.Lock()
	defer r.psMu.Unlock()
	if r.ps.Load() != old || r.closed.Load() {
		return
	}
	_ = old.Close()
	r.health.addGhost(r.psClientID.Load())
	ps := r.subClient.Subscribe(r.ctx)
	channels := append([]string{r.replyCh}, r.subs.prefixedApplied(r.opts.Prefix)...)
	for len(channels) > 0 {
		n := min(len(channels), subscribeBatch)
		_ = ps.Subscribe(r.ctx, channels[:n]...) // on error go-redis keeps the channels for its reconnect
		channels = channels[n:]
	}
	r.ps.Store(ps)
}

// sleep waits d or until Close; it reports whether the backplane is still open.
func (r *Redis) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.done:
		return false
	case <-t.C:
		return true
	}
}

// jitter spreads reconnects of several processes over [d/2, d).
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
