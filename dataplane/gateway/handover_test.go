package gateway

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kwps/kwps/dataplane/protocol"
)

// reliableReader reads a reliable client the way the client libraries do: a message whose sequenceId
// was already seen is a replay and dropped; the rest must be each publisher's numbers, once, in order.
type reliableReader struct {
	t       *testing.T
	lastSeq uint64
	next    map[string]int // stream -> next number expected
}

// readUntil consumes messages from c until every stream reached at least upTo (or the connection
// drops), acknowledging every ackEvery-th message. It returns false when the connection dropped.
func (rr *reliableReader) readUntil(c *client, upTo map[string]int, ackEvery int) bool {
	rr.t.Helper()
	for {
		done := true
		for s, n := range upTo {
			if rr.next[s] <= n {
				done = false
			}
		}
		if done {
			return true
		}
		b, _, err := c.tryRead(5 * time.Second)
		if err != nil {
			return false
		}
		m := decodeJSONMap(rr.t, b)
		if m["type"] != "message" {
			continue
		}
		seq := seqOf(m)
		if seq <= rr.lastSeq {
			continue
		}
		if seq != rr.lastSeq+1 {
			rr.t.Fatalf("sequenceId jumped from %d to %d", rr.lastSeq, seq)
		}
		rr.lastSeq = seq
		data, _ := m["data"].(string)
		stream, num := splitNumbered(data)
		if num != rr.next[stream] {
			rr.t.Fatalf("stream %s: got %d, want %d (sequenceId %d)", stream, num, rr.next[stream], seq)
		}
		rr.next[stream]++
		if int(seq)%ackEvery == 0 {
			c.send(map[string]any{"type": "sequenceAck", "sequenceId": seq})
		}
	}
}

func splitNumbered(s string) (string, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			n, _ := strconv.Atoi(s[i+1:])
			return s[:i], n
		}
	}
	return s, -1
}

// TestRepeatedHandovers moves a reliable session back and forth between two processes while two
// publishers (one through each process, to its group and to its user) keep sending.
func TestRepeatedHandovers(t *testing.T) {
	gw := newCluster(t, 3)
	c, tok := gw[0].dialReliable("chat", "u", nil, []string{"room"})
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := map[string]int{}
	publish := func(stream string, send func(text protocol.Payload)) {
		defer wg.Done()
		for i := 1; ctx.Err() == nil; i++ {
			send(protocol.Payload{Type: protocol.Text, Data: []byte(stream + ":" + strconv.Itoa(i))})
			mu.Lock()
			sent[stream] = i
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}
	wg.Add(2)
	go publish("group-via-1", func(p protocol.Payload) {
		_ = gw[1].gw.SendToGroup(context.Background(), "chat", "room", p, SendOptions{})
	})
	go publish("user-via-0", func(p protocol.Payload) { _ = gw[0].gw.SendToUser(context.Background(), "chat", "u", p, SendOptions{}) })

	rr := &reliableReader{t: t, next: map[string]int{"group-via-1": 1, "user-via-0": 1}}
	target := 0
	cur := c
	for round := range 6 {
		want := map[string]int{"group-via-1": 20 * (round + 1), "user-via-0": 20 * (round + 1)}
		if !rr.readUntil(cur, want, 7) {
			t.Fatalf("round %d: connection dropped", round)
		}
		cur.cut()
		target = 1 - target // the next recovery lands on the other process
		time.Sleep(5 * time.Millisecond)
		cur = gw[target].dial(gw[target].recoverURL("chat", c.id, tok), protocol.JSONReliableName)
	}
	stop()
	wg.Wait()
	mu.Lock()
	final := map[string]int{"group-via-1": sent["group-via-1"], "user-via-0": sent["user-via-0"]}
	mu.Unlock()
	if !rr.readUntil(cur, final, 7) {
		t.Fatal("connection dropped at the end")
	}
}
