package gateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kwps/kwps/dataplane/backplane"
	"github.com/kwps/kwps/dataplane/filter"
	"github.com/kwps/kwps/dataplane/protocol"
)

// newCluster starts n gateways that act as one service over an in-memory backplane.
func newCluster(t *testing.T, n int) []*env {
	t.Helper()
	net := backplane.NewNetwork()
	envs := make([]*env, n)
	for i := range envs {
		bp := net.Join(fmt.Sprintf("g%d", i))
		envs[i] = newEnv(t, func(o *Options) { o.Backplane = bp })
	}
	return envs
}

func TestClusterServiceFromOtherProcesses(t *testing.T) {
	gw := newCluster(t, 3)
	ctx := t.Context()
	a := gw[0].dialJSON("chat", "alice", nil, []string{"room"})
	b := gw[1].dialJSON("chat", "bob", nil, []string{"room"})
	other := gw[2]

	// Sends from a process that holds neither connection.
	_ = other.gw.SendToGroup(ctx, "chat", "room", text("to room"), SendOptions{Excluded: []string{b.id}})
	if m := a.readJSON(); m["data"] != "to room" || m["group"] != "room" {
		t.Fatalf("a got %v", m)
	}
	b.expectNothing(150 * time.Millisecond)
	f, _ := filter.Parse("userId eq 'bob'")
	_ = other.gw.SendToAll(ctx, "chat", text("to bob by filter"), SendOptions{Filter: f})
	if m := b.readJSON(); m["data"] != "to bob by filter" {
		t.Fatalf("b got %v", m)
	}
	a.expectNothing(150 * time.Millisecond)
	_ = other.gw.SendToUser(ctx, "chat", "alice", text("to alice"), SendOptions{})
	_ = other.gw.SendToConnection(ctx, "chat", b.id, text("to b"), SendOptions{})
	if m := a.readJSON(); m["data"] != "to alice" {
		t.Fatalf("a got %v", m)
	}
	if m := b.readJSON(); m["data"] != "to b" {
		t.Fatalf("b got %v", m)
	}

	// Existence and listing answer for the whole service.
	for _, q := range []struct {
		what string
		f    func() (bool, error)
		want bool
	}{
		{"connection a", func() (bool, error) { return other.gw.ConnectionExists(ctx, "chat", a.id) }, true},
		{"unknown connection", func() (bool, error) { return other.gw.ConnectionExists(ctx, "chat", "nope") }, false},
		{"user bob", func() (bool, error) { return other.gw.UserExists(ctx, "chat", "bob") }, true},
		{"group room", func() (bool, error) { return other.gw.GroupExists(ctx, "chat", "room") }, true},
		{"empty group", func() (bool, error) { return other.gw.GroupExists(ctx, "chat", "nobody") }, false},
	} {
		if got, err := q.f(); err != nil || got != q.want {
			t.Fatalf("%s exists = %v, %v; want %v", q.what, got, err, q.want)
		}
	}
	page, more, err := other.gw.ListGroupConnections(ctx, "chat", "room", "", 1)
	if err != nil || len(page) != 1 || !more {
		t.Fatalf("first page %v more=%v err=%v", page, more, err)
	}
	rest, more, _ := other.gw.ListGroupConnections(ctx, "chat", "room", page[0].ConnectionID, 10)
	if len(rest) != 1 || more {
		t.Fatalf("second page %v more=%v", rest, more)
	}

	// Commands on remote connections: groups, permissions, close.
	if err := other.gw.AddConnectionToGroup(ctx, "chat", "vip", a.id); err != nil {
		t.Fatal(err)
	}
	if err := other.gw.AddConnectionToGroup(ctx, "chat", "vip", "nope"); !errors.Is(err, ErrConnectionNotFound) {
		t.Fatalf("remote add of unknown connection: %v", err)
	}
	_ = other.gw.AddUserToGroup(ctx, "chat", "vip", "bob")
	eventually(t, "vip has two members", func() bool {
		p, _, _ := other.gw.ListGroupConnections(ctx, "chat", "vip", "", 10)
		return len(p) == 2
	})
	if ok, _ := other.gw.CheckPermission(ctx, "chat", a.id, PermSendToGroup, "room"); ok {
		t.Fatal("no permission yet")
	}
	if err := other.gw.GrantPermission(ctx, "chat", a.id, PermSendToGroup, "room"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := other.gw.CheckPermission(ctx, "chat", a.id, PermSendToGroup, "room"); !ok {
		t.Fatal("granted permission not visible")
	}
	if err := other.gw.GrantPermission(ctx, "chat", "nope", PermSendToGroup, ""); !errors.Is(err, ErrConnectionNotFound) {
		t.Fatalf("grant on unknown connection: %v", err)
	}
	// A client's sendToGroup on one process reaches members on another; noEcho holds.
	if m := a.ack(map[string]any{"type": "sendToGroup", "group": "room", "ackId": 1, "noEcho": true, "dataType": "text", "data": "hi bob"}); m["success"] != true {
		t.Fatalf("ack %v", m)
	}
	if m := b.readJSON(); m["data"] != "hi bob" || m["fromUserId"] != "alice" {
		t.Fatalf("b got %v", m)
	}
	a.expectNothing(150 * time.Millisecond)

	_ = other.gw.CloseUserConnections(ctx, "chat", "bob", CloseOptions{Reason: "bye bob"})
	if m := b.readJSON(); m["event"] != "disconnected" || m["message"] != "bye bob" {
		t.Fatalf("b got %v", m)
	}
	eventually(t, "bob gone everywhere", func() bool {
		ok, _ := other.gw.UserExists(ctx, "chat", "bob")
		return !ok
	})
}

// TestHandoverKeepsEveryMessageOnce recovers a reliable client on another process while a publisher
// keeps sending to its group: the client sees every message exactly once, in order.
func TestHandoverKeepsEveryMessageOnce(t *testing.T) {
	gw := newCluster(t, 3)
	c, tok := gw[0].dialReliable("chat", "alice", nil, []string{"room"})
	ctx, stop := context.WithCancel(t.Context())
	var sent atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; ctx.Err() == nil; i++ {
			_ = gw[2].gw.SendToGroup(context.Background(), "chat", "room", text(strconv.Itoa(i)), SendOptions{})
			sent.Store(int64(i))
			time.Sleep(time.Millisecond)
		}
	}()
	next := 1
	var lastSeq uint64
	expect := func(cl *client, upTo int) {
		t.Helper()
		for next <= upTo {
			m := cl.readJSON()
			if m["type"] != "message" {
				continue
			}
			// As the client libraries do: a replayed message already seen is dropped by sequenceId.
			if seqOf(m) <= lastSeq {
				continue
			}
			lastSeq = seqOf(m)
			if m["data"] != strconv.Itoa(next) {
				t.Fatalf("got %v, want message %d", m["data"], next)
			}
			if next%20 == 0 {
				cl.send(map[string]any{"type": "sequenceAck", "sequenceId": seqOf(m)})
			}
			next++
		}
	}
	expect(c, 50)
	c.cut()
	eventually(t, "detached on the first process", func() bool { return gw[0].gw.conn("chat", c.id).cur.Load() == nil })
	time.Sleep(20 * time.Millisecond) // messages pile up for the session meanwhile
	r := gw[1].dial(gw[1].recoverURL("chat", c.id, tok), protocol.JSONReliableName)
	if m := r.readJSON(); m["event"] != "connected" || m["connectionId"] != c.id {
		t.Fatalf("recovered on another process: %v", m)
	}
	expect(r, next+100)
	stop()
	<-done
	expect(r, int(sent.Load()))
	if gw[0].gw.conn("chat", c.id) != nil {
		t.Fatal("the first process still holds the session")
	}
}

func TestDrainHandsReliableSessionsOver(t *testing.T) {
	gw := newCluster(t, 2)
	c, tok := gw[0].dialReliable("chat", "alice", nil, []string{"room"})
	_ = gw[1].gw.SendToGroup(t.Context(), "chat", "room", text("before"), SendOptions{})
	if m := c.readJSON(); m["data"] != "before" {
		t.Fatalf("got %v", m)
	}
	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		drained <- gw[0].gw.Drain(ctx)
	}()
	if code := c.expectRawClose(); code != statusServiceRestart {
		t.Fatalf("drain close %d, want 1012", code)
	}
	_ = gw[1].gw.SendToGroup(t.Context(), "chat", "room", text("during"), SendOptions{})
	r := gw[1].dial(gw[1].recoverURL("chat", c.id, tok), protocol.JSONReliableName)
	r.readJSON() // connected
	// "before" was not acknowledged, so it is replayed; then "during".
	if m := r.readJSON(); m["data"] != "before" {
		t.Fatalf("got %v", m)
	}
	if m := r.readJSON(); m["data"] != "during" {
		t.Fatalf("got %v", m)
	}
	if err := <-drained; err != nil {
		t.Fatalf("drain did not finish once the session moved: %v", err)
	}
}
