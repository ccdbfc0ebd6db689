package backplane

import (
	"sync"
)

// subscribeBatch is the most channels named in one SUBSCRIBE or UNSUBSCRIBE command.
const subscribeBatch = 512

// subscriptions is the channel set of a Redis backplane. Subscribe and Unsubscribe record the wanted
// state of each channel (the last call wins, which is call order) and wake the subscriber goroutine;
// it sends the difference to Redis in batches and then updates applied. applied is what Redis was
// told, which is what its subscriber counts include.
type subscriptions struct {
	mu    sync.Mutex
	dirty map[string]bool // channel -> wanted, changed since the last pass
	wake  chan struct{}

	appliedMu sync.RWMutex        // written only by the subscriber goroutine
	applied   map[string]struct{} // unprefixed channel names
}

func (s *subscriptions) init() {
	s.dirty = map[string]bool{}
	s.wake = make(chan struct{}, 1)
	s.applied = map[string]struct{}{}
}

// want records the wanted state of channels and wakes the subscriber goroutine.
func (s *subscriptions) want(channels []string, subscribed bool) {
	s.mu.Lock()
	for _, ch := range channels {
		s.dirty[ch] = subscribed
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// has reports whether Redis counts this process among channel's subscribers.
func (s *subscriptions) has(channel string) bool {
	s.appliedMu.RLock()
	_, ok := s.applied[channel]
	s.appliedMu.RUnlock()
	return ok
}

func (s *subscriptions) count() int {
	s.appliedMu.RLock()
	defer s.appliedMu.RUnlock()
	return len(s.applied)
}

// prefixedApplied lists the applied channels with their Redis names.
func (s *subscriptions) prefixedApplied(prefix string) []string {
	s.appliedMu.RLock()
	defer s.appliedMu.RUnlock()
	out := make([]string, 0, len(s.applied))
	for ch := range s.applied {
		out = append(out, prefix+ch)
	}
	return out
}

// changes takes the pending changes as Redis channel names: those to subscribe and those to
// unsubscribe. Only the subscriber goroutine calls it.
func (s *subscriptions) changes(prefix string) (sub, unsub []string) {
	s.mu.Lock()
	dirty := s.dirty
	s.dirty = make(map[string]bool, len(dirty)/2)
	s.mu.Unlock()
	for ch, want := range dirty {
		if _, has := s.applied[ch]; want && !has {
			sub = append(sub, prefix+ch)
		} else if !want && has {
			unsub = append(unsub, prefix+ch)
		}
	}
	return sub, unsub
}

// Subscribe implements Backplane. Subscriptions are a set: subscribing twice and unsubscribing once
// leaves the channel unsubscribed. The channel name must not start with "node:" (reply channels).
func (r *Redis) Subscribe(channels ...string) {
	if !r.closed.Load() {
		r.sync.bump()
		r.subs.want(channels, true)
	}
}

// Unsubscribe implements Backplane.
func (r *Redis) Unsubscribe(channels ...string) {
	if !r.closed.Load() {
		r.sync.bump()
		r.subs.want(channels, false)
	}
}

// subscribeLoop applies subscription changes until Close.
func (r *Redis) subscribeLoop() {
	defer r.wg.Done()
	for {
		select {
		case <-r.done:
			return
		case <-r.subs.wake:
		}
		gen := r.sync.target()
		sub, unsub := r.subs.changes(r.opts.Prefix)
		r.apply(unsub, false)
		r.apply(sub, true)
		r.sync.done(gen)
	}
}

// apply sends one kind of change in batches. go-redis records the channels even when the command
// fails (Redis is down), and subscribes its new connection to them when it reconnects, so a failure
// needs no retry here.
func (r *Redis) apply(channels []string, subscribe bool) {
	for len(channels) > 0 {
		batch := channels[:min(len(channels), subscribeBatch)]
		channels = channels[len(batch):]
		r.psMu.Lock()
		if subscribe {
			_ = r.ps.Load().Subscribe(r.ctx, batch...)
		} else {
			_ = r.ps.Load().Unsubscribe(r.ctx, batch...)
		}
		r.subs.appliedMu.Lock()
		for _, ch := range batch {
			if subscribe {
				r.subs.applied[ch[len(r.opts.Prefix):]] = struct{}{}
			} else {
				delete(r.subs.applied, ch[len(r.opts.Prefix):])
			}
		}
		r.subs.appliedMu.Unlock()
		r.psMu.Unlock()
	}
}
