package scaleout

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// next returns the next message, failing the test when none arrives within d.
func (c *client) next(d time.Duration) message {
	c.tb.Helper()
	m, ok := c.tryNext(d)
	if !ok {
		c.tb.Fatalf("client %s (%s on %s): no message within %s%s", c.name, c.id, c.node.name, d, c.ended())
	}
	return m
}

// tryNext returns the next message, or false when none arrives within d.
func (c *client) tryNext(d time.Duration) (message, bool) {
	c.tb.Helper()
	if c.overflow.Load() {
		c.tb.Fatalf("client %s: more than %d messages left unread", c.name, inboxSize)
	}
	if len(c.pending) > 0 {
		m := c.pending[0]
		c.pending = c.pending[1:]
		return m, true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case m := <-c.inbox:
		return m, true
	case <-timer.C:
		return message{}, false
	}
}

// ended describes how the connection ended, if it did.
func (c *client) ended() string {
	select {
	case <-c.done:
		return fmt.Sprintf(" (connection ended: %v, close %d %q)", c.endErr, c.closeCode, c.closeText)
	default:
		return ""
	}
}

// expectText fails unless the next message is a text data message with data want.
func (c *client) expectText(want string) message {
	c.tb.Helper()
	m := c.next(waitFor)
	if m.text() != want {
		c.tb.Fatalf("client %s (%s on %s): got %s, want text %q", c.name, c.id, c.node.name, m.raw, want)
	}
	return m
}

// expectDisconnected fails unless the service sends the disconnected system message with reason and
// then closes the connection with 1000 and the reason.
func (c *client) expectDisconnected(reason string) {
	c.tb.Helper()
	m := c.next(waitFor)
	if m.Type != "system" || m.Event != "disconnected" || m.Message != reason {
		c.tb.Fatalf("client %s (%s on %s): got %s, want the disconnected message with %q", c.name, c.id, c.node.name, m.raw, reason)
	}
	select {
	case <-c.done:
	case <-time.After(waitFor):
		c.tb.Fatalf("client %s: still open %s after the disconnected message", c.name, waitFor)
	}
	if c.closeCode != ws.StatusNormalClosure || c.closeText != reason {
		c.tb.Fatalf("client %s: closed with %d %q (%v), want 1000 %q", c.name, c.closeCode, c.closeText, c.endErr, reason)
	}
}

// expectSequence fails unless the next messages are the texts "<prefix><i>" for i = from..to, in order.
func (c *client) expectSequence(prefix string, from, to int64) {
	c.tb.Helper()
	for i := from; i <= to; i++ {
		want := fmt.Sprintf("%s%d", prefix, i)
		m, ok := c.tryNext(waitFor)
		if !ok {
			c.tb.Fatalf("client %s (%s on %s): %s%d..%d: nothing after %s%d%s", c.name, c.id, c.node.name, prefix, from, to, prefix, i-1, c.ended())
		}
		if m.text() != want {
			c.tb.Fatalf("client %s (%s on %s): got %s, want %q (a gap, or out of order)", c.name, c.id, c.node.name, m.raw, want)
		}
	}
}

// checkAcks reads n acks, which must all be successes.
func (c *client) checkAcks(n int) {
	c.tb.Helper()
	for i := 1; i <= n; i++ {
		m := c.next(waitFor)
		if m.Type != "ack" || m.Success == nil || !*m.Success {
			c.tb.Fatalf("client %s: message %d of %d: %s, want a successful ack", c.name, i, n, m.raw)
		}
	}
}

// expectNothing fails if c has a message waiting. It asks c's own process to send c a marker, which
// comes straight through that process's local path: call it once a message that must not reach c has
// reached another client on c's process (so anything wrongly queued for c is ahead of the marker).
func (cl *cluster) expectNothing(tb testing.TB, cs ...*client) {
	tb.Helper()
	for _, c := range cs {
		marker := fmt.Sprintf("marker-%s-%d", c.name, markers.Add(1))
		cl.sendText(tb, c.node, connPath(c.hub, c.id)+"/:send", nil, marker)
		c.expectText(marker)
	}
}

var markers atomic.Uint64

// expectAll fails unless every client's next message is the text want.
func expectAll(cs []*client, want string) {
	for _, c := range cs {
		c.tb.Helper()
		c.expectText(want)
	}
}

// awaitText waits up to d for the text message want, skipping others (late arrivals of earlier
// rounds); it reports whether want arrived.
func (c *client) awaitText(want string, d time.Duration) bool {
	c.tb.Helper()
	deadline := time.Now().Add(d)
	for {
		m, ok := c.tryNext(time.Until(deadline))
		if !ok {
			return false
		}
		if m.text() == want {
			return true
		}
	}
}

// nothingFor is expectNothing that reports instead of failing: false when a message came before the
// marker (the marker is then read too, so the next check starts clean).
func (cl *cluster) nothingFor(tb testing.TB, c *client) bool {
	tb.Helper()
	marker := fmt.Sprintf("marker-%s-%d", c.name, markers.Add(1))
	cl.sendText(tb, c.node, connPath(c.hub, c.id)+"/:send", nil, marker)
	if c.next(waitFor).text() == marker {
		return true
	}
	if !c.awaitText(marker, waitFor) {
		tb.Fatalf("client %s: marker %q did not arrive", c.name, marker)
	}
	return false
}

// expectForbidden fails unless ack is a Forbidden failure.
func expectForbidden(tb testing.TB, ack message) {
	tb.Helper()
	if ack.Success == nil || *ack.Success || ack.Error == nil || ack.Error.Name != "Forbidden" {
		tb.Fatalf("ack %s, want Forbidden", ack.raw)
	}
}
