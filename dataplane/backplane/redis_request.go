package backplane

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrTooManyRequests is returned by Request when RedisOptions.MaxPendingRequests are waiting.
var ErrTooManyRequests = errors.New("backplane: too many pending requests")

// pending maps request IDs to the waiters of this process's Requests; it is bounded, and a Request
// removes its entry when it returns, whatever the outcome.
type pending struct {
	seq atomic.Uint64

	mu      sync.Mutex
	waiters map[uint64]*waiter
	max     int
}

func (p *pending) init(max int) {
	p.waiters = map[uint64]*waiter{}
	p.max = max
}

// add registers a new request; it fails when max requests are waiting.
func (p *pending) add() (uint64, *waiter, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.waiters) >= p.max {
		return 0, nil, ErrTooManyRequests
	}
	id := p.seq.Add(1)
	w := newWaiter()
	p.waiters[id] = w
	return id, w, nil
}

func (p *pending) remove(id uint64) {
	p.mu.Lock()
	delete(p.waiters, id)
	p.mu.Unlock()
}

// deliver hands a reply to its request; a reply to a request that returned is dropped.
func (p *pending) deliver(id uint64, reply []byte) {
	p.mu.Lock()
	w := p.waiters[id]
	p.mu.Unlock()
	if w != nil {
		w.add(reply)
	}
}

// Request implements Backplane. The receivers reply on this process's reply channel; replies are
// matched by request ID. It returns ErrTooManyRequests when MaxPendingRequests are waiting.
func (r *Redis) Request(ctx context.Context, channel string, payload []byte) ([][]byte, int, error) {
	id, w, err := r.pending.add()
	if err != nil {
		return nil, 0, err
	}
	defer r.pending.remove(id)
	e := envelope{kind: kindRequest, origin: r.opts.ID, requestID: id, replyTo: r.replyCh, payload: payload}
	n, err := r.publish(ctx, channel, &e)
	if err != nil {
		return nil, 0, err
	}
	replies, err := w.wait(ctx, n, r.done)
	return replies, n, err
}
