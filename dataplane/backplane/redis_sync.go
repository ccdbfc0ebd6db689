package backplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// syncState lets Sync wait until Redis has processed the subscription changes made before it: the
// subscriber goroutine numbers each pass, and a PING sent on the pub/sub connection after the pass
// comes back only once Redis has executed the SUBSCRIBE commands written before it.
type syncState struct {
	mu      sync.Mutex
	wanted  uint64 // incremented by every Subscribe/Unsubscribe
	applied uint64 // the wanted value the subscriber goroutine has written to Redis
	synced  uint64 // the wanted value a PING has confirmed Redis executed
	changed chan struct{}
	pongs   map[string]chan struct{}
}

func (s *syncState) init() {
	s.changed = make(chan struct{})
	s.pongs = map[string]chan struct{}{}
}

func (s *syncState) bump() {
	s.mu.Lock()
	s.wanted++
	s.mu.Unlock()
}

// target is the generation the subscriber goroutine is about to apply.
func (s *syncState) target() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wanted
}

func (s *syncState) done(gen uint64) {
	s.mu.Lock()
	if gen > s.applied {
		s.applied = gen
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()
}

// pong is called by the read loop for every PONG on the pub/sub connection.
func (s *syncState) pong(payload string) {
	s.mu.Lock()
	ch, ok := s.pongs[payload]
	delete(s.pongs, payload)
	s.mu.Unlock()
	if ok {
		close(ch)
	}
}

// Sync waits until every Subscribe and Unsubscribe made before it is in effect in Redis, so a message
// published after Sync returns reaches this process.
func (r *Redis) Sync(ctx context.Context) error {
	if r.closed.Load() {
		return ErrClosed
	}
	s := &r.sync
	s.mu.Lock()
	gen := s.wanted
	if gen <= s.synced {
		s.mu.Unlock()
		return nil // nothing changed since the last confirmed Sync
	}
	for s.applied < gen {
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-r.done:
			return ErrClosed
		}
		s.mu.Lock()
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	token := "sync-" + hex.EncodeToString(b[:])
	pong := make(chan struct{})
	s.pongs[token] = pong
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pongs, token)
		s.mu.Unlock()
	}()
	r.psMu.Lock()
	err := r.ps.Load().Ping(ctx, token)
	r.psMu.Unlock()
	if err != nil {
		return ErrUnavailable
	}
	select {
	case <-pong:
		s.mu.Lock()
		s.synced = max(s.synced, gen)
		s.mu.Unlock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return ErrClosed
	case <-time.After(3 * r.opts.PingInterval):
		return ErrUnavailable
	}
}

// Flush implements Backplane: Memory's Send hands the payload to the receivers before it returns.
func (m *Memory) Flush(context.Context) error {
	if m.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Barrier implements Backplane.
func (m *Memory) Barrier(ctx context.Context) error { return m.in.barrier(ctx) }

// Sync implements Backplane: Memory applies subscriptions before Subscribe returns.
func (m *Memory) Sync(context.Context) error {
	if m.closed.Load() {
		return ErrClosed
	}
	return nil
}
