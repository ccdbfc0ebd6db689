package scaleout

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestKillOneProcessUnderTraffic kills C with SIGKILL while a publisher on B sends numbered messages
// to a group with members on A, B and C: A and B keep serving, their members receive every message
// in order with no gap, REST on them keeps answering, and C's connections stop existing once Redis
// has seen C's connections drop.
func TestKillOneProcessUnderTraffic(t *testing.T) {
	const (
		hub      = "kill"
		interval = 2 * time.Millisecond
		before   = 150 // messages sent before the kill
		after    = 300 // at least this many after it
	)
	cl := newCluster(t, 3)
	a, b, c := cl.nodes[0], cl.nodes[1], cl.nodes[2]
	pub := cl.connect(t, b, "publisher", hub, clientOptions{user: "p", roles: []string{"webpubsub.sendToGroup"}})
	var survivors, doomed []*client
	for i, n := range []*node{a, a, a, b, b, b, c, c, c} {
		m := cl.connect(t, n, n.name+string(rune('1'+i%3)), hub, clientOptions{user: "m", groups: []string{"g"}})
		if n == c {
			doomed = append(doomed, m)
		} else {
			survivors = append(survivors, m)
		}
	}
	cl.waitMembers(t, a, hub, "g", append(append([]*client(nil), survivors...), doomed...)...)

	stop := make(chan struct{})
	done := make(chan error, 1)
	var sent atomic.Int64
	go func() { done <- pub.publishNumbered("g", "n-", interval, stop, &sent) }()
	stopped := false
	defer func() {
		if !stopped { // the test failed first: only stop the publisher
			close(stop)
			if err := <-done; err != nil {
				t.Logf("publisher: %v", err)
			}
		}
	}()

	eventually(t, waitFor, "the publisher's first messages", func() bool { return sent.Load() >= before })
	c.kill()
	killedAt := sent.Load()
	killed := time.Now()

	// REST on the survivors answers throughout; C's connections stop existing once Redis noticed.
	for _, m := range doomed {
		eventually(t, waitFor, "a killed process's connection stops existing", func() bool {
			return !cl.exists(t, a, connPath(hub, m.id), nil) && !cl.exists(t, b, connPath(hub, m.id), nil)
		})
		t.Logf("%s gone from A and B %s after the kill", m.name, time.Since(killed).Round(time.Millisecond))
	}
	cl.waitMembers(t, b, hub, "g", survivors...)
	for _, n := range []*node{a, b} {
		if !cl.ready(t, n) {
			t.Errorf("%s is not ready after C was killed", n.name)
		}
		if !cl.exists(t, n, groupPath(hub, "g"), nil) {
			t.Errorf("group g does not exist on %s after C was killed", n.name)
		}
	}
	late := cl.connect(t, a, "late", hub, clientOptions{})
	cl.must(t, http.StatusAccepted, b, http.MethodPost, connPath(hub, late.id)+"/:send", nil, "text/plain", []byte("welcome"))
	late.expectText("welcome")

	eventually(t, 2*waitFor, "the publisher's messages after the kill", func() bool { return sent.Load() >= killedAt+after })
	close(stop)
	stopped = true
	if err := <-done; err != nil {
		t.Fatalf("publisher: %v", err)
	}
	total := sent.Load()
	t.Logf("published %d messages, C killed after %d", total, killedAt)

	pub.checkAcks(int(total))
	for _, m := range survivors {
		m.expectSequence("n-", 1, total)
	}
	for _, m := range doomed {
		select {
		case <-m.done:
		case <-time.After(waitFor):
			t.Errorf("%s: still connected %s after its process was killed", m.name, waitFor)
		}
	}
}
