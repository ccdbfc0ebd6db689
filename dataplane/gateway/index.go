package gateway

import (
	"hash/maphash"
	"sync"
)

// numShards is the shard count of every per-hub index; a power of two so the shard is a mask away.
const numShards = 64

var shardSeed = maphash.MakeSeed()

func shardOf(key string) int { return int(maphash.String(shardSeed, key) & (numShards - 1)) }

// connSet is a set of local connections (a group's or a user's members) with a cached, immutable
// snapshot so a fan-out to a stable set copies nothing and holds no lock while it writes.
type connSet struct {
	mu      sync.Mutex
	members map[*Conn]struct{}
	snap    []*Conn // nil when members changed since it was built
}

func (s *connSet) add(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.members[c]; ok {
		return
	}
	if s.members == nil {
		s.members = make(map[*Conn]struct{}, 1)
	}
	s.members[c] = struct{}{}
	s.snap = nil
}

// remove takes c out and returns how many members remain.
func (s *connSet) remove(c *Conn) (left int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.members[c]; ok {
		delete(s.members, c)
		s.snap = nil
	}
	return len(s.members)
}

// snapshot returns the members; the slice is shared and must not be modified.
func (s *connSet) snapshot() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snap == nil && len(s.members) > 0 {
		snap := make([]*Conn, 0, len(s.members))
		for c := range s.members {
			snap = append(snap, c)
		}
		s.snap = snap
	}
	return s.snap
}

// setIndex maps a key (group name, user ID) to its connSet, sharded by key. Empty sets are removed.
// onFirst and onLast, when set, are called under the key's shard lock when a key gains its first
// member and loses its last, so calls for one key are ordered; they must not block.
type setIndex struct {
	shards [numShards]struct {
		mu   sync.RWMutex
		sets map[string]*connSet
	}
	onFirst, onLast func(key string)
}

func (x *setIndex) get(key string) *connSet {
	sh := &x.shards[shardOf(key)]
	sh.mu.RLock()
	s := sh.sets[key]
	sh.mu.RUnlock()
	return s
}

// add puts c into key's set.
func (x *setIndex) add(key string, c *Conn) {
	sh := &x.shards[shardOf(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.sets[key]
	if s == nil {
		if sh.sets == nil {
			sh.sets = make(map[string]*connSet)
		}
		s = &connSet{}
		sh.sets[key] = s
		if x.onFirst != nil {
			x.onFirst(key)
		}
	}
	s.add(c)
}

// remove takes c out of key's set, dropping the set when it becomes empty.
func (x *setIndex) remove(key string, c *Conn) {
	sh := &x.shards[shardOf(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.sets[key]
	if s == nil {
		return
	}
	if s.remove(c) == 0 {
		delete(sh.sets, key)
		if x.onLast != nil {
			x.onLast(key)
		}
	}
}

// members returns key's members (shared, read-only) or nil.
func (x *setIndex) members(key string) []*Conn {
	if s := x.get(key); s != nil {
		return s.snapshot()
	}
	return nil
}

// connIndex maps connection IDs to local connections, sharded by ID.
type connIndex struct {
	shards [numShards]struct {
		mu    sync.RWMutex
		conns map[string]*Conn
	}
}

func (x *connIndex) get(id string) *Conn {
	sh := &x.shards[shardOf(id)]
	sh.mu.RLock()
	c := sh.conns[id]
	sh.mu.RUnlock()
	return c
}

func (x *connIndex) put(c *Conn) {
	sh := &x.shards[shardOf(c.id)]
	sh.mu.Lock()
	if sh.conns == nil {
		sh.conns = make(map[string]*Conn)
	}
	sh.conns[c.id] = c
	sh.mu.Unlock()
}

// delete removes c if it is still the connection registered under its ID.
func (x *connIndex) delete(c *Conn) {
	sh := &x.shards[shardOf(c.id)]
	sh.mu.Lock()
	if sh.conns[c.id] == c {
		delete(sh.conns, c.id)
	}
	sh.mu.Unlock()
}

// each calls f for every connection, one shard at a time, copying each shard so f runs without the lock.
func (x *connIndex) each(buf []*Conn, f func(*Conn)) []*Conn {
	for i := range x.shards {
		sh := &x.shards[i]
		sh.mu.RLock()
		buf = buf[:0]
		for _, c := range sh.conns {
			buf = append(buf, c)
		}
		sh.mu.RUnlock()
		for _, c := range buf {
			f(c)
		}
	}
	return buf[:0]
}

func (x *connIndex) len() int {
	n := 0
	for i := range x.shards {
		sh := &x.shards[i]
		sh.mu.RLock()
		n += len(sh.conns)
		sh.mu.RUnlock()
	}
	return n
}
