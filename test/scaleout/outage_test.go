package scaleout

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// Backplane metrics (dataplane/metrics) the outage test reads.
const (
	metricConnected  = "kwps_backplane_connected"
	metricReconnects = "kwps_backplane_reconnects_total"
	metricDroppedOut = "kwps_backplane_dropped_outbound_total"
)

// TestRedisRestart stops Redis and starts it again on the same port. While it is down every process
// reports not ready and kwps_backplane_connected 0, a group whose members all sit on one process keeps
// getting every message, and sends that need Redis are dropped and counted. After the restart the
// processes recover by themselves: ready again, reconnects counted, cross-process delivery back, and
// nothing sent during the outage delivered late.
func TestRedisRestart(t *testing.T) {
	const (
		hub       = "outage"
		interval  = 5 * time.Millisecond
		downSends = 5
		upSends   = 5
		recovery  = 15 * time.Second // go-redis redials within about a second; health pings each second
	)
	cl := newCluster(t, 3)
	a, b, c := cl.nodes[0], cl.nodes[1], cl.nodes[2]
	pub := cl.connect(t, a, "publisher", hub, clientOptions{roles: []string{"webpubsub.sendToGroup"}})
	locals := []*client{
		cl.connect(t, a, "l1", hub, clientOptions{groups: []string{"local"}}),
		cl.connect(t, a, "l2", hub, clientOptions{groups: []string{"local"}}),
	}
	xa := cl.connect(t, a, "xa", hub, clientOptions{groups: []string{"cross"}})
	xb := cl.connect(t, b, "xb", hub, clientOptions{groups: []string{"cross"}})
	xc := cl.connect(t, c, "xc", hub, clientOptions{groups: []string{"cross"}})
	cl.waitMembers(t, c, hub, "cross", xa, xb, xc)
	cl.waitMembers(t, c, hub, "local", locals...)
	sendCross := func(text string) { cl.sendText(t, b, groupPath(hub, "cross")+"/:send", nil, text) }
	sendCross("before")
	expectAll([]*client{xa, xb, xc}, "before")

	reconnects := map[*node]float64{}
	for _, n := range cl.nodes {
		if v := cl.metric(t, n, metricConnected); v != 1 {
			t.Fatalf("%s: %s %v before the outage, want 1", n.name, metricConnected, v)
		}
		reconnects[n] = cl.metric(t, n, metricReconnects)
	}
	droppedBefore := cl.metric(t, b, metricDroppedOut)

	stop := make(chan struct{})
	done := make(chan error, 1)
	var sent atomic.Int64
	go func() { done <- pub.publishNumbered("local", "n-", interval, stop, &sent) }()
	stopped := false
	defer func() {
		if !stopped { // the test failed first: only stop the publisher
			close(stop)
			if err := <-done; err != nil {
				t.Logf("publisher: %v", err)
			}
		}
	}()
	eventually(t, waitFor, "the local publisher's first messages", func() bool { return sent.Load() >= 20 })

	cl.redis.Stop()
	down := time.Now()
	atStop := sent.Load()
	for _, n := range cl.nodes {
		eventually(t, waitFor, n.name+" reports not ready while Redis is down", func() bool { return !cl.ready(t, n) })
		t.Logf("%s not ready %s after Redis stopped", n.name, time.Since(down).Round(time.Millisecond))
		if v := cl.metric(t, n, metricConnected); v != 0 {
			t.Errorf("%s: %s %v while Redis is down, want 0", n.name, metricConnected, v)
		}
	}
	for i := 1; i <= downSends; i++ {
		sendCross(fmt.Sprintf("down-%d", i))
	}
	for i := 1; i <= downSends; i++ {
		xb.expectText(fmt.Sprintf("down-%d", i)) // B's own member: no Redis needed
	}
	if d := cl.metric(t, b, metricDroppedOut) - droppedBefore; d < downSends {
		t.Errorf("B: %s rose by %v during the outage, want at least the %d cross-process sends", metricDroppedOut, d, downSends)
	}
	// Let local traffic run a while with Redis down.
	eventually(t, waitFor, "local messages during the outage", func() bool { return sent.Load() >= atStop+100 })
	atRestart := sent.Load()

	cl.redis.Restart()
	up := time.Now()
	for _, n := range cl.nodes {
		eventually(t, recovery, n.name+" ready again after Redis restarted", func() bool { return cl.ready(t, n) })
		t.Logf("%s ready %s after Redis restarted", n.name, time.Since(up).Round(time.Millisecond))
	}
	for i := 1; i <= upSends; i++ {
		sendCross(fmt.Sprintf("up-%d", i))
	}
	// Nothing from the outage arrives late on A or C: the next message is the first one sent after.
	for _, x := range []*client{xa, xb, xc} {
		x.expectSequence("up-", 1, upSends)
	}
	for _, n := range cl.nodes {
		if v := cl.metric(t, n, metricConnected); v != 1 {
			t.Errorf("%s: %s %v after the restart, want 1", n.name, metricConnected, v)
		}
		if v := cl.metric(t, n, metricReconnects); v <= reconnects[n] {
			t.Errorf("%s: %s %v after the restart, want more than %v", n.name, metricReconnects, v, reconnects[n])
		}
	}

	close(stop)
	stopped = true
	if err := <-done; err != nil {
		t.Fatalf("local publisher: %v", err)
	}
	total := sent.Load()
	t.Logf("local publisher: %d messages, %d of them while Redis was down", total, atRestart-atStop)
	pub.checkAcks(int(total))
	for _, l := range locals {
		l.expectSequence("n-", 1, total)
	}
	cl.must(t, http.StatusOK, b, http.MethodHead, groupPath(hub, "cross"), nil, "", nil)
}
