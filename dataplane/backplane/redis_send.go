package backplane

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// outbound is the queue of messages to publish: one bounded queue per worker, hashed by channel so
// that a channel's messages leave in order, and a byte budget over all of them.
type outbound struct {
	queues   []chan outItem
	batch    int
	maxBytes int64
	bytes    atomic.Int64 // bytes queued by Send and replies
}

// outItem is one PUBLISH. res is set for Publish and Request, which wait for the receivers count;
// the others are fire and forget.
type outItem struct {
	channel string // Redis channel name
	data    []byte // the envelope
	res     chan pubResult
	ctx     context.Context // the waiting caller's; an item whose caller gave up is skipped
	flushed chan struct{}   // a Flush marker: closed once everything before it was published
}

type pubResult struct {
	receivers int64
	err       error
}

func (o *outbound) init(opts RedisOptions) {
	o.queues = make([]chan outItem, opts.OutboundWorkers)
	for i := range o.queues {
		o.queues[i] = make(chan outItem, opts.OutboundQueue)
	}
	o.batch = opts.PublishBatch
	o.maxBytes = opts.OutboundMaxBytes
}

func (o *outbound) queue(channel string) chan outItem {
	return o.queues[channelHash(channel)%uint32(len(o.queues))]
}

// Send implements Backplane. It never blocks: while Redis is down, when the queue is full, or when
// the payload exceeds MaxMessageBytes the message is dropped and counted in Stats.DroppedOut.
func (r *Redis) Send(channel string, payload []byte) {
	e := envelope{kind: kindMessage, origin: r.opts.ID, payload: payload}
	r.send(r.opts.Prefix+channel, &e)
}

// send queues e for the Redis channel without waiting.
func (r *Redis) send(channel string, e *envelope) {
	if r.closed.Load() || !r.health.up.Load() || len(e.payload) > r.opts.MaxMessageBytes {
		r.droppedOut.Add(1)
		return
	}
	data := appendEnvelope(make([]byte, 0, envelopeSize(e)), e)
	size := int64(len(data))
	if r.out.bytes.Add(size) > r.out.maxBytes {
		r.out.bytes.Add(-size)
		r.droppedOut.Add(1)
		return
	}
	select {
	case r.out.queue(channel) <- outItem{channel: channel, data: data}:
	default:
		r.out.bytes.Add(-size)
		r.droppedOut.Add(1)
	}
}

// Publish implements Backplane. It waits, within ctx, behind the channel's earlier Sends (order per
// channel holds across Send and Publish) and returns how many other processes received it.
func (r *Redis) Publish(ctx context.Context, channel string, payload []byte) (int, error) {
	e := envelope{kind: kindMessage, origin: r.opts.ID, payload: payload}
	return r.publish(ctx, channel, &e)
}

// publish sends e to the (unprefixed) channel and waits for the receivers count, this process
// excluded.
func (r *Redis) publish(ctx context.Context, channel string, e *envelope) (int, error) {
	switch {
	case r.closed.Load():
		return 0, ErrClosed
	case !r.health.up.Load():
		return 0, ErrUnavailable
	case len(e.payload) > r.opts.MaxMessageBytes:
		return 0, fmt.Errorf("backplane: payload of %d bytes exceeds %d", len(e.payload), r.opts.MaxMessageBytes)
	}
	res := make(chan pubResult, 1)
	it := outItem{channel: r.opts.Prefix + channel, data: appendEnvelope(make([]byte, 0, envelopeSize(e)), e), res: res, ctx: ctx}
	select {
	case r.out.queue(it.channel) <- it:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-r.done:
		return 0, ErrClosed
	}
	var got pubResult
	select {
	case got = <-res:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-r.done:
		return 0, ErrClosed
	}
	if got.err != nil {
		return 0, got.err
	}
	n := int(got.receivers)
	// Redis counted our own subscription too, if we have one.
	if n > 0 && r.subs.has(channel) {
		n--
	}
	return n, nil
}

// publishLoop is one outbound worker: it takes what is queued, up to PublishBatch messages, and
// publishes them in one pipelined round trip.
func (r *Redis) publishLoop(q chan outItem) {
	defer r.wg.Done()
	pipe := r.client.Pipeline()
	batch := make([]outItem, 0, r.out.batch)
	cmds := make([]*redis.IntCmd, r.out.batch)
	for {
		select {
		case <-r.done:
			r.drain(q)
			return
		case it := <-q:
			batch = append(batch, it)
		}
	fill:
		for len(batch) < cap(batch) {
			select {
			case it := <-q:
				batch = append(batch, it)
			default:
				break fill
			}
		}
		r.publishBatch(pipe, batch, cmds)
		clear(batch) // release the payloads
		batch = batch[:0]
	}
}

func (r *Redis) publishBatch(pipe redis.Pipeliner, batch []outItem, cmds []*redis.IntCmd) {
	var queued int64
	for _, it := range batch {
		if it.res == nil {
			queued += int64(len(it.data))
		}
	}
	r.out.bytes.Add(-queued)
	if !r.health.up.Load() {
		for _, it := range batch {
			if it.flushed != nil {
				close(it.flushed) // nothing before it will be published: nothing to wait for
				continue
			}
			r.settle(it, nil, ErrUnavailable)
		}
		return
	}
	n := 0
	for i, it := range batch {
		cmds[i] = nil
		if it.flushed != nil || it.res != nil && it.ctx.Err() != nil {
			continue // a Flush marker, or the caller has returned
		}
		cmds[i] = pipe.Publish(r.ctx, it.channel, it.data)
		n++
	}
	if n > 0 {
		_, _ = pipe.Exec(r.ctx) // each command carries its own error
	}
	for i, it := range batch {
		switch {
		case it.flushed != nil:
			close(it.flushed)
		case cmds[i] != nil:
			r.settle(it, cmds[i], nil)
		}
	}
}

// Flush implements Backplane: a marker goes behind what each outbound worker has queued, and Flush
// returns once every worker has published up to its marker (Redis has executed those PUBLISHes).
func (r *Redis) Flush(ctx context.Context) error {
	marks := make([]chan struct{}, 0, len(r.out.queues))
	for _, q := range r.out.queues {
		m := make(chan struct{})
		select {
		case q <- outItem{flushed: m}:
		case <-ctx.Done():
			return ctx.Err()
		case <-r.done:
			return ErrClosed
		}
		marks = append(marks, m)
	}
	for _, m := range marks {
		select {
		case <-m:
		case <-ctx.Done():
			return ctx.Err()
		case <-r.done:
			return ErrClosed
		}
	}
	return nil
}

// Barrier implements Backplane.
func (r *Redis) Barrier(ctx context.Context) error { return r.in.barrier(ctx) }

// settle counts one item's outcome and hands it to a waiting caller.
func (r *Redis) settle(it outItem, cmd *redis.IntCmd, err error) {
	var receivers int64
	if cmd != nil {
		receivers, err = cmd.Result()
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	if err != nil {
		r.droppedOut.Add(1)
	} else {
		r.published.Add(1)
	}
	if it.res != nil {
		it.res <- pubResult{receivers: receivers, err: err}
	}
}

// drain drops what is left in q at Close.
func (r *Redis) drain(q chan outItem) {
	for {
		select {
		case it := <-q:
			if it.flushed == nil {
				r.settle(it, nil, ErrClosed)
			}
		default:
			return
		}
	}
}
