package hubconfig

import (
	"sync"
	"sync/atomic"
)

// Store holds the current configuration of every configured hub. Reads are lock-free (an atomic
// snapshot); writes replace the snapshot. It is safe for concurrent use.
type Store struct {
	mu    sync.Mutex // serializes writers
	snap  atomic.Pointer[map[string]*Hub]
	subs  []func(hub string)
	loads atomic.Uint64
}

// NewStore returns an empty store: every hub gets Default settings.
func NewStore() *Store {
	s := &Store{}
	m := map[string]*Hub{}
	s.snap.Store(&m)
	return s
}

// Get returns the configuration of hub (any case). A hub nobody configured gets Default settings.
// The returned value must not be modified.
func (s *Store) Get(hub string) *Hub {
	key := CanonicalHub(hub)
	if h, ok := (*s.snap.Load())[key]; ok {
		return h
	}
	return Default(key)
}

// Lookup returns the configuration of hub and whether it was configured explicitly.
func (s *Store) Lookup(hub string) (*Hub, bool) {
	h, ok := (*s.snap.Load())[CanonicalHub(hub)]
	return h, ok
}

// Hubs returns the configured hubs; the map must not be modified.
func (s *Store) Hubs() map[string]*Hub { return *s.snap.Load() }

// Set adds or replaces one hub and notifies subscribers.
func (s *Store) Set(h *Hub) {
	s.update(func(m map[string]*Hub) { m[h.Name] = h }, h.Name)
}

// Delete removes one hub (it falls back to Default settings) and notifies subscribers.
func (s *Store) Delete(hub string) {
	key := CanonicalHub(hub)
	s.update(func(m map[string]*Hub) { delete(m, key) }, key)
}

// Replace swaps the whole set of hubs and notifies subscribers of every hub that was or is configured.
func (s *Store) Replace(hubs []*Hub) {
	s.mu.Lock()
	old := *s.snap.Load()
	next := make(map[string]*Hub, len(hubs))
	for _, h := range hubs {
		next[h.Name] = h
	}
	s.snap.Store(&next)
	s.loads.Add(1)
	subs := s.subs
	s.mu.Unlock()
	changed := map[string]struct{}{}
	for k := range old {
		changed[k] = struct{}{}
	}
	for k := range next {
		changed[k] = struct{}{}
	}
	for k := range changed {
		for _, f := range subs {
			f(k)
		}
	}
}

// Loads counts how many times the configuration changed (for the config-reload metric).
func (s *Store) Loads() uint64 { return s.loads.Load() }

// Subscribe registers f to be called with a hub name after that hub's configuration changed.
// f runs on the writer's goroutine and must not block.
func (s *Store) Subscribe(f func(hub string)) {
	s.mu.Lock()
	s.subs = append(s.subs, f)
	s.mu.Unlock()
}

func (s *Store) update(f func(map[string]*Hub), hub string) {
	s.mu.Lock()
	old := *s.snap.Load()
	next := make(map[string]*Hub, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	f(next)
	s.snap.Store(&next)
	s.loads.Add(1)
	subs := s.subs
	s.mu.Unlock()
	for _, fn := range subs {
		fn(hub)
	}
}
