package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"hash/maphash"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kwps/kwps/dataplane/hubconfig"
)

// Connected queues the connected event of a connection whose connect succeeded. It never blocks; see
// the package documentation for ordering, retries and drops.
func (c *Client) Connected(hub *hubconfig.Hub, conn Conn) {
	c.enqueue(hub, conn, hubconfig.EventConnected, connectedBody)
}

// Disconnected queues the disconnected event of a connection whose connect succeeded, with the reason
// it ended. It never blocks, and it is sent after the connection's connected event.
func (c *Client) Disconnected(hub *hubconfig.Hub, conn Conn, reason string) {
	body, err := json.Marshal(struct {
		Reason string `json:"reason"`
	}{reason})
	if err != nil { // cannot happen for a struct of one string
		body = []byte(`{"reason":""}`)
	}
	c.enqueue(hub, conn, hubconfig.EventDisconnected, body)
}

var connectedBody = []byte(`{}`)

// asyncShardCount spreads connection queues over locks; a power of two.
const asyncShardCount = 32

// asyncQueues holds one FIFO per connection that has async events pending. A connection's queue exists
// while it has events, and one goroutine (started with the first event) sends them in order and exits
// when the queue is empty. So a slow handler holds up only its own connections, and the number of
// goroutines is bounded by the number of pending events.
type asyncQueues struct {
	seed   maphash.Seed
	closed atomic.Bool // read under a shard's mu by enqueue; see close
	shards [asyncShardCount]asyncShard
}

type asyncShard struct {
	mu     sync.Mutex
	queues map[string]*asyncQueue // guarded by mu; key: hub + "\x00" + connection id
}

// asyncQueue is guarded by its shard's mu.
type asyncQueue struct {
	events []*event
}

func (q *asyncQueues) init() {
	q.seed = maphash.MakeSeed()
	for i := range q.shards {
		q.shards[i].queues = make(map[string]*asyncQueue)
	}
}

func (q *asyncQueues) shard(key string) *asyncShard {
	return &q.shards[maphash.String(q.seed, key)&(asyncShardCount-1)]
}

// close makes every later enqueue fail. Taking each shard's lock once afterwards is a barrier: an
// enqueue that held a lock before has finished its wg.Add, and one that takes it later sees closed. So
// after close returns, no new queue goroutine starts.
func (q *asyncQueues) close() {
	q.closed.Store(true)
	for i := range q.shards {
		q.shards[i].mu.Lock()
		q.shards[i].mu.Unlock() //nolint:staticcheck // an empty critical section is the barrier
	}
}

// enqueue adds an async event to its connection's queue, starting the queue's goroutine if needed.
func (c *Client) enqueue(hub *hubconfig.Hub, conn Conn, name string, body []byte) {
	eh := FindHandler(hub, name, true)
	if eh == nil {
		return
	}
	ev := c.newEvent(eh, hub, conn, name, true, contentTypeSystem, body)
	if !hub.Ready {
		c.drop(ev.hub, name, conn.ConnectionID, "hub not ready")
		return
	}
	if c.pending.Add(1) > c.maxPending {
		c.pending.Add(-1)
		c.drop(ev.hub, name, conn.ConnectionID, "too many pending events")
		return
	}
	key := ev.hub + "\x00" + conn.ConnectionID
	s := c.queues.shard(key)
	s.mu.Lock()
	if c.queues.closed.Load() {
		s.mu.Unlock()
		c.pending.Add(-1)
		c.drop(ev.hub, name, conn.ConnectionID, "client closed")
		return
	}
	q, running := s.queues[key]
	if !running {
		q = &asyncQueue{}
		s.queues[key] = q
		c.wg.Add(1) // under s.mu, so Close's wait cannot miss it
	}
	q.events = append(q.events, ev)
	s.mu.Unlock()
	if !running {
		go c.drain(s, key, q)
	}
}

// drain sends the events of one connection in order until its queue is empty.
func (c *Client) drain(s *asyncShard, key string, q *asyncQueue) {
	defer c.wg.Done()
	for {
		s.mu.Lock()
		if len(q.events) == 0 {
			delete(s.queues, key)
			s.mu.Unlock()
			return
		}
		ev := q.events[0]
		q.events[0] = nil
		q.events = q.events[1:]
		s.mu.Unlock()
		if c.ctx.Err() != nil {
			c.drop(ev.hub, ev.name, ev.conn.ConnectionID, "client closed")
		} else {
			c.sendAsync(ev)
		}
		c.pending.Add(-1)
	}
}

// sendAsync sends one async event, retrying 408, 5xx and network errors (not timeouts) after each of
// c.retryDelays, and logs a final failure.
func (c *Client) sendAsync(ev *event) {
	start := c.now()
	var status, attempts int
	var err error
	for {
		attempts++
		status, err = c.sendOnce(ev)
		if err == nil || attempts > len(c.retryDelays) || !retryable(status, err) {
			break
		}
		t := time.NewTimer(c.retryDelays[attempts-1])
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
		}
		if c.ctx.Err() != nil {
			break
		}
		c.retries.Add(1)
	}
	if err != nil {
		c.log.Warn("event handler event failed", "hub", ev.hub, "event", ev.name, "connectionId", ev.conn.ConnectionID, "attempts", attempts, "error", err)
	}
	c.done(ev, status, attempts, start, err)
}

// errStatus is a non-2xx answer to an async event.
type errStatus struct {
	url    string // redacted
	event  string
	status string
}

func (e *errStatus) Error() string {
	return "event handler " + e.url + ": event " + e.event + " answered " + e.status
}

// sendOnce makes one attempt; any 2xx is success and the body is ignored.
func (c *Client) sendOnce(ev *event) (int, error) {
	resp, u, cancel, err := c.do(c.ctx, ev, c.eventTimeout)
	if err != nil {
		return 0, err
	}
	defer cancel()
	defer closeBody(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, &errStatus{url: u.redacted, event: ev.name, status: resp.Status}
	}
	return resp.StatusCode, nil
}

// retryable reports whether an async attempt should be repeated: 408 and 5xx answers, and errors on
// the way to the handler other than timeouts (a handler that timed out is likely still busy with it) and
// refused redirects.
func retryable(status int, err error) bool {
	if status != 0 {
		return status == http.StatusRequestTimeout || status >= 500
	}
	var se *sendError
	if !errors.As(err, &se) {
		return false // a request that could not be built (no token, no secret) fails the same way again
	}
	return !se.timeout && !errors.Is(err, context.Canceled) && !errors.Is(err, errRedirect)
}
