package backplane

import (
	"context"
	"sync"
	"sync/atomic"
)

// IngressOptions bound the queue between the transport and the Handler. Zero values take the
// defaults.
type IngressOptions struct {
	// Workers run the Handler; a channel always goes to the same worker, which keeps its order.
	// Default 8.
	Workers int
	// Queue is each worker's capacity in messages; a message that finds it full is dropped and
	// counted in Stats.DroppedIn. Default 1024.
	Queue int
	// MaxBytes bounds the payload bytes queued over all workers; beyond it messages are dropped.
	// Default 64 MiB.
	MaxBytes int64
}

func (o IngressOptions) withDefaults() IngressOptions {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Queue <= 0 {
		o.Queue = 1024
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	return o
}

// delivery is one received message on its way to the Handler, or a barrier marker.
type delivery struct {
	channel string
	payload []byte
	reply   func([]byte)    // nil unless the message is a request
	passed  *sync.WaitGroup // a Barrier marker: Done once the worker reaches it
}

// ingress runs the Handler on a fixed set of workers, hashed by channel. push never blocks, so the
// transport's read loop is never held up by a slow handler: a full queue drops the message.
type ingress struct {
	queues   []chan delivery
	handler  atomic.Pointer[Handler]
	maxBytes int64
	bytes    atomic.Int64 // payload bytes queued now

	received, dropped atomic.Uint64

	done chan struct{}
	wg   sync.WaitGroup
}

func newIngress(o IngressOptions) *ingress {
	o = o.withDefaults()
	in := &ingress{queues: make([]chan delivery, o.Workers), maxBytes: o.MaxBytes, done: make(chan struct{})}
	for i := range in.queues {
		in.queues[i] = make(chan delivery, o.Queue)
		in.wg.Add(1)
		go in.work(in.queues[i])
	}
	return in
}

func (in *ingress) setHandler(h Handler) { in.handler.Store(&h) }

// push queues d for its channel's worker, or drops and counts it.
func (in *ingress) push(d delivery) {
	size := int64(len(d.payload))
	if in.bytes.Add(size) > in.maxBytes {
		in.bytes.Add(-size)
		in.dropped.Add(1)
		return
	}
	select {
	case in.queues[channelHash(d.channel)%uint32(len(in.queues))] <- d:
		in.received.Add(1)
		return
	case <-in.done:
	default:
	}
	in.bytes.Add(-size)
	in.dropped.Add(1)
}

func (in *ingress) work(q chan delivery) {
	defer in.wg.Done()
	for {
		select {
		case <-in.done:
			return
		case d := <-q:
			if d.passed != nil {
				d.passed.Done()
				continue
			}
			in.bytes.Add(-int64(len(d.payload)))
			if h := in.handler.Load(); h != nil {
				(*h)(d.channel, d.payload, d.reply)
			}
		}
	}
}

// barrier queues a marker behind everything each worker has queued and waits until every worker
// reached its marker. Unlike push it waits for room, within ctx.
func (in *ingress) barrier(ctx context.Context) error {
	var passed sync.WaitGroup
	for _, q := range in.queues {
		passed.Add(1)
		select {
		case q <- delivery{passed: &passed}:
		case <-ctx.Done():
			return ctx.Err()
		case <-in.done:
			return ErrClosed
		}
	}
	done := make(chan struct{})
	go func() { passed.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-in.done:
		return ErrClosed
	}
}

// stop ends the workers after the message each is handling; queued messages are discarded.
func (in *ingress) stop() {
	close(in.done)
	in.wg.Wait()
}

// channelHash is FNV-1a, inline so that hashing a channel name does not allocate.
func channelHash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
