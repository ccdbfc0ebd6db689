package wsclient

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// DialFunc opens connection i of a pool, ready for use (handshake, subscriptions, read loop started).
type DialFunc func(ctx context.Context, i int) (*Conn, error)

// Pool is a set of connections opened by one DialFunc, which can reopen any of them.
type Pool struct {
	dial     DialFunc
	parallel int
	conns    []*Conn
}

// Open dials n connections, at most parallel at a time. On the first failure it closes what it opened
// and returns the error.
func Open(ctx context.Context, n, parallel int, dial DialFunc) (*Pool, error) {
	p := &Pool{dial: dial, parallel: max(parallel, 1), conns: make([]*Conn, n)}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if err := p.dialAll(ctx, idx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// dialAll dials the connections at idx into place.
func (p *Pool) dialAll(ctx context.Context, idx []int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range min(p.parallel, len(idx)) {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= len(idx) || ctx.Err() != nil {
					return
				}
				i := idx[k]
				c, err := p.dial(ctx, i)
				if err != nil {
					errOnce.Do(func() {
						firstErr = fmt.Errorf("connection %d of %d: %w", i+1, len(p.conns), err)
						cancel()
					})
					return
				}
				p.conns[i] = c
			}
		})
	}
	wg.Wait()
	return firstErr
}

// Len is the number of connections.
func (p *Pool) Len() int { return len(p.conns) }

// Conn returns connection i.
func (p *Pool) Conn(i int) *Conn { return p.conns[i] }

// Alive counts the connections that are open.
func (p *Pool) Alive() int {
	n := 0
	for _, c := range p.conns {
		if c != nil && c.Alive() {
			n++
		}
	}
	return n
}

// Heal redials the connections that dropped and returns how many it redialed.
func (p *Pool) Heal(ctx context.Context) (int, error) {
	var dead []int
	for i, c := range p.conns {
		if c == nil || !c.Alive() {
			if c != nil {
				c.Close()
			}
			dead = append(dead, i)
		}
	}
	if len(dead) == 0 {
		return 0, nil
	}
	return len(dead), p.dialAll(ctx, dead)
}

// Close closes every connection.
func (p *Pool) Close() {
	for _, c := range p.conns {
		if c != nil {
			c.Close()
		}
	}
}
