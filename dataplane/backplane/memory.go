package backplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sync"
	"sync/atomic"
)

// netShards is the number of channel-map shards of a Network (a power of two).
const netShards = 32

// Network joins Memory backplanes in one address space: a single process is a network of one, and
// tests run several in-process "pods" on one network. It behaves as Redis does for the backplane:
// subscriptions per process, receivers counted as Redis counts subscribers (minus the sender),
// order per channel per publisher, and bounded ingress that drops and counts.
type Network struct {
	shards [netShards]netShard

	mu      sync.Mutex
	members map[string]*Memory
}

type netShard struct {
	mu   sync.RWMutex
	subs map[string][]*Memory // channel -> subscribed processes
}

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	n := &Network{members: map[string]*Memory{}}
	for i := range n.shards {
		n.shards[i].subs = map[string][]*Memory{}
	}
	return n
}

// Join adds a process with the given ID (a random one if empty) and default ingress bounds. It
// panics if a process with that ID is joined already: IDs must be unique.
func (n *Network) Join(id string) Backplane { return n.JoinWith(id, IngressOptions{}) }

// JoinWith is Join with explicit ingress bounds.
func (n *Network) JoinWith(id string, o IngressOptions) *Memory {
	if id == "" {
		id = randomID()
	}
	m := &Memory{net: n, id: id, in: newIngress(o), subs: map[string]struct{}{}, done: make(chan struct{})}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, dup := n.members[id]; dup {
		m.in.stop()
		panic("backplane: process ID " + id + " joined twice")
	}
	n.members[id] = m
	return m
}

func (n *Network) shard(channel string) *netShard {
	return &n.shards[channelHash(channel)&(netShards-1)]
}

// Memory is a process on a Network. Delivery is direct: Send and Publish hand the payload to each
// receiver's ingress queue without copying it, so neither the sender nor a handler may modify a
// payload (or a reply) after passing it on.
type Memory struct {
	net *Network
	id  string
	in  *ingress

	mu     sync.Mutex // orders Subscribe and Unsubscribe calls; guards subs
	subs   map[string]struct{}
	closed atomic.Bool
	done   chan struct{} // closed by Close

	published, droppedOut atomic.Uint64
}

var _ Backplane = (*Memory)(nil)

// ID implements Backplane.
func (m *Memory) ID() string { return m.id }

// SetHandler implements Backplane.
func (m *Memory) SetHandler(h Handler) { m.in.setHandler(h) }

// Subscribe implements Backplane; the change applies before it returns. Subscriptions are a set:
// subscribing twice and unsubscribing once leaves the channel unsubscribed.
func (m *Memory) Subscribe(channels ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Load() {
		return
	}
	for _, ch := range channels {
		if _, ok := m.subs[ch]; ok {
			continue
		}
		m.subs[ch] = struct{}{}
		s := m.net.shard(ch)
		s.mu.Lock()
		s.subs[ch] = append(s.subs[ch], m)
		s.mu.Unlock()
	}
}

// Unsubscribe implements Backplane.
func (m *Memory) Unsubscribe(channels ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ch := range channels {
		if _, ok := m.subs[ch]; ok {
			delete(m.subs, ch)
			m.net.unsubscribe(ch, m)
		}
	}
}

func (n *Network) unsubscribe(ch string, m *Memory) {
	s := n.shard(ch)
	s.mu.Lock()
	defer s.mu.Unlock()
	subs := slices.DeleteFunc(s.subs[ch], func(x *Memory) bool { return x == m })
	if len(subs) == 0 {
		delete(s.subs, ch)
		return
	}
	s.subs[ch] = subs
}

// Send implements Backplane. It never waits: the payload goes straight to the receivers' ingress
// queues, which drop it when full.
func (m *Memory) Send(channel string, payload []byte) {
	if m.closed.Load() {
		m.droppedOut.Add(1)
		return
	}
	m.deliver(channel, payload, nil)
}

// Publish implements Backplane.
func (m *Memory) Publish(ctx context.Context, channel string, payload []byte) (int, error) {
	if m.closed.Load() {
		return 0, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return m.deliver(channel, payload, nil), nil
}

// Request implements Backplane.
func (m *Memory) Request(ctx context.Context, channel string, payload []byte) ([][]byte, int, error) {
	if m.closed.Load() {
		return nil, 0, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	w := newWaiter()
	n := m.deliver(channel, payload, w)
	replies, err := w.wait(ctx, n, m.done)
	return replies, n, err
}

// deliver hands payload to every other process subscribed to channel and returns their number,
// counting those whose queue dropped it, as Redis counts subscribers. With w, each receiver gets a
// reply function that answers into w (at most once).
func (m *Memory) deliver(channel string, payload []byte, w *waiter) int {
	s := m.net.shard(channel)
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, to := range s.subs[channel] {
		if to == m {
			continue
		}
		n++
		d := delivery{channel: channel, payload: payload}
		if w != nil {
			var once atomic.Bool
			d.reply = func(b []byte) {
				if once.CompareAndSwap(false, true) {
					w.add(b)
				}
			}
		}
		to.in.push(d)
	}
	m.published.Add(1)
	return n
}

// Ready implements Backplane: a Memory backplane is ready until it is closed.
func (m *Memory) Ready() error {
	if m.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Stats implements Backplane. Published counts Send, Publish and Request calls; DroppedOut counts
// Sends after Close (a receiver's full queue counts in its DroppedIn); Reconnects stays zero.
func (m *Memory) Stats() Stats {
	m.mu.Lock()
	subs := len(m.subs)
	m.mu.Unlock()
	return Stats{
		Published:     m.published.Load(),
		Received:      m.in.received.Load(),
		DroppedOut:    m.droppedOut.Load(),
		DroppedIn:     m.in.dropped.Load(),
		Subscriptions: subs,
		Connected:     !m.closed.Load(),
	}
}

// Close implements Backplane: it leaves the network, ends pending Requests with ErrClosed and waits
// for the ingress workers. It must not be called from a Handler.
func (m *Memory) Close() error {
	m.mu.Lock()
	if !m.closed.CompareAndSwap(false, true) {
		m.mu.Unlock()
		return nil
	}
	for ch := range m.subs {
		m.net.unsubscribe(ch, m)
	}
	clear(m.subs)
	m.mu.Unlock()

	m.net.mu.Lock()
	delete(m.net.members, m.id)
	m.net.mu.Unlock()
	close(m.done)
	m.in.stop()
	return nil
}

// randomID names a process that was not given a name.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
