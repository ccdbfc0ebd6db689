package backplane

import (
	"context"
	"sync"
)

// maxReplies bounds the replies one request collects before it knows its receivers count (replies
// can arrive before the publish returns); no deployment has more processes.
const maxReplies = 4096

// waiter collects the replies to one request. add never blocks: it runs on the transport's read
// loop (Redis) or on another process's ingress worker (Memory).
type waiter struct {
	mu      sync.Mutex
	replies [][]byte
	want    int  // receivers, once known; -1 before
	closed  bool // the request returned: later replies are discarded
	notify  chan struct{}
}

func newWaiter() *waiter { return &waiter{want: -1, notify: make(chan struct{}, 1)} }

// add records one reply.
func (w *waiter) add(reply []byte) {
	w.mu.Lock()
	if w.closed || len(w.replies) >= maxReplies || (w.want >= 0 && len(w.replies) >= w.want) {
		w.mu.Unlock()
		return
	}
	w.replies = append(w.replies, reply)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// wait returns when receivers replies arrived, ctx ends (with the replies so far and ctx's error)
// or stop closes (ErrClosed).
func (w *waiter) wait(ctx context.Context, receivers int, stop <-chan struct{}) ([][]byte, error) {
	w.mu.Lock()
	w.want = receivers
	if len(w.replies) > receivers {
		w.replies = w.replies[:receivers]
	}
	w.mu.Unlock()
	for !w.complete() {
		select {
		case <-w.notify:
		case <-ctx.Done():
			return w.finish(ctx.Err())
		case <-stop:
			return w.finish(ErrClosed)
		}
	}
	return w.finish(nil)
}

func (w *waiter) complete() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.replies) >= w.want
}

// finish ends the collection: later replies are discarded.
func (w *waiter) finish(err error) ([][]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	return w.replies, err
}
