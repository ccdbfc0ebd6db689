package gateway

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/protocol"
	"github.com/kwps/kwps/dataplane/upstream"
)

// dialReliable connects with json.reliable and returns the client and its reconnection token.
func (e *env) dialReliable(hub, user string, roles, groups []string) (*client, string) {
	e.t.Helper()
	c := e.dial(e.url(hub, e.token(hub, user, roles, groups)), protocol.JSONReliableName)
	m := c.readJSON()
	tok, _ := m["reconnectionToken"].(string)
	if m["event"] != "connected" || tok == "" {
		e.t.Fatalf("connected = %v, want a reconnection token", m)
	}
	c.id = m["connectionId"].(string)
	return c, tok
}

func (e *env) recoverURL(hub, id, token string) string {
	// The JS client appends the recovery parameters to its original URL, expired token and all.
	return e.url(hub, "expired-access-token", "awps_connection_id="+url.QueryEscape(id), "awps_reconnection_token="+url.QueryEscape(token))
}

// cut drops the client's socket without a close frame, as a network failure would.
func (c *client) cut() { _ = c.conn.Close() }

func seqOf(m map[string]any) uint64 {
	f, _ := m["sequenceId"].(float64)
	return uint64(f)
}

func TestReliableSequenceAndRecovery(t *testing.T) {
	e := newEnv(t)
	c, tok := e.dialReliable("chat", "alice", []string{"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"}, []string{"room"})
	ctx := t.Context()

	for i := range 3 {
		_ = e.gw.SendToGroup(ctx, "chat", "room", text(string(rune('a'+i))), SendOptions{})
	}
	for i := range 3 {
		m := c.readJSON()
		if seqOf(m) != uint64(i+1) || m["data"] != string(rune('a'+i)) {
			t.Fatalf("message %d = %v", i, m)
		}
	}
	c.send(map[string]any{"type": "sequenceAck", "sequenceId": 2})
	if a := c.ack(map[string]any{"type": "joinGroup", "group": "other", "ackId": 5}); a["success"] != true {
		t.Fatalf("join = %v", a)
	}

	// The socket drops; the session stays, keeps its groups and buffers what arrives meanwhile.
	c.cut()
	eventually(t, "transport detached", func() bool { return e.gw.conn("chat", c.id).cur.Load() == nil })
	if ok, _ := e.gw.ConnectionExists(ctx, "chat", c.id); !ok {
		t.Fatal("a dropped reliable session must still exist")
	}
	_ = e.gw.SendToGroup(ctx, "chat", "other", text("while away"), SendOptions{})

	r := e.dial(e.recoverURL("chat", c.id, tok), protocol.JSONReliableName)
	m := r.readJSON()
	if m["event"] != "connected" || m["connectionId"] != c.id || m["reconnectionToken"] == "" {
		t.Fatalf("recovery connected = %v", m)
	}
	// Everything after the acknowledged 2, in order: 3, then the message sent while away.
	if m := r.readJSON(); seqOf(m) != 3 || m["data"] != "c" {
		t.Fatalf("replayed = %v", m)
	}
	if m := r.readJSON(); seqOf(m) != 4 || m["data"] != "while away" || m["group"] != "other" {
		t.Fatalf("buffered = %v", m)
	}
	// ackIds are still deduplicated; new messages continue the numbering.
	a := r.ack(map[string]any{"type": "joinGroup", "group": "other", "ackId": 5})
	if a["error"].(map[string]any)["name"] != "Duplicate" {
		t.Fatalf("ack after recovery = %v", a)
	}
	_ = e.gw.SendToConnection(ctx, "chat", c.id, text("next"), SendOptions{})
	if m := r.readJSON(); seqOf(m) != 5 || m["data"] != "next" {
		t.Fatalf("after recovery = %v", m)
	}
}

func TestReliableRecoveryRefused(t *testing.T) {
	e := newEnv(t)
	c, tok := e.dialReliable("chat", "alice", nil, nil)
	other, otherTok := e.dialReliable("chat", "bob", nil, nil)
	_ = other
	cases := []struct {
		name, url string
	}{
		{"bad token", e.recoverURL("chat", c.id, "garbage")},
		{"token of another connection", e.recoverURL("chat", c.id, otherTok)},
		{"unknown connection", e.recoverURL("chat", "nope", tok)},
		{"other hub", e.recoverURL("elsewhere", c.id, tok)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.dial(tc.url, protocol.JSONReliableName)
			if code, reason := r.expectClose(); code != ws.StatusPolicyViolation || reason != "The connection could not be recovered." {
				t.Fatalf("close %d %q", code, reason)
			}
		})
	}
}

// recordingEvents is a narrow fake of the upstream client that records the non-blocking events.
type recordingEvents struct {
	mu     sync.Mutex
	events []string
}

func (r *recordingEvents) Connect(context.Context, *hubconfig.Hub, upstream.Conn, upstream.ConnectRequest) (*upstream.ConnectResponse, error) {
	return &upstream.ConnectResponse{}, nil
}

func (r *recordingEvents) UserEvent(context.Context, *hubconfig.Hub, upstream.Conn, string, string, []byte) (*upstream.EventResponse, error) {
	return &upstream.EventResponse{}, nil
}

func (r *recordingEvents) Connected(_ *hubconfig.Hub, c upstream.Conn) {
	r.add("connected " + c.ConnectionID)
}

func (r *recordingEvents) Disconnected(_ *hubconfig.Hub, c upstream.Conn, reason string) {
	r.add("disconnected " + c.ConnectionID + ": " + reason)
}

func (r *recordingEvents) add(s string) {
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
}

func (r *recordingEvents) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func withHandlers(e *env, hub string) {
	h := hubconfig.Default(hub)
	h.EventHandlers = []hubconfig.EventHandler{{URLTemplate: "http://127.0.0.1:1/{event}", SystemEvents: []string{"connected", "disconnected"}, Auth: hubconfig.UpstreamAuth{Type: hubconfig.AuthNone}}}
	e.hubs.Set(h)
}

func TestReliableSessionExpiresThenDisconnected(t *testing.T) {
	rec := &recordingEvents{}
	e := newEnv(t, func(o *Options) { o.Events = rec; o.ReliableSessionTimeout = time.Second })
	withHandlers(e, "chat")
	c, tok := e.dialReliable("chat", "alice", nil, nil)
	c.cut()
	eventually(t, "detached", func() bool { return e.gw.conn("chat", c.id).cur.Load() == nil })
	// One recovery within the window: no second connected, no disconnected.
	r := e.dial(e.recoverURL("chat", c.id, tok), protocol.JSONReliableName)
	r.readJSON()
	r.cut()
	eventually(t, "session expired", func() bool { return e.gw.conn("chat", c.id) == nil })
	ev := rec.list()
	if len(ev) != 2 || ev[0] != "connected "+c.id || ev[1] != "disconnected "+c.id+": The connection was lost." {
		t.Fatalf("upstream events = %q", ev)
	}
	// The session is gone: recovery now fails with 1008.
	late := e.dial(e.recoverURL("chat", c.id, tok), protocol.JSONReliableName)
	if code, _ := late.expectClose(); code != ws.StatusPolicyViolation {
		t.Fatalf("late recovery close %d", code)
	}
}

func TestReliableClientCloseEndsSession(t *testing.T) {
	e := newEnv(t)
	c, _ := e.dialReliable("chat", "alice", nil, nil)
	if err := ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "session ended", func() bool { return e.gw.conn("chat", c.id) == nil })
}

func TestReliableServerCloseEndsSession(t *testing.T) {
	e := newEnv(t)
	c, tok := e.dialReliable("chat", "alice", nil, nil)
	_ = e.gw.CloseConnection(t.Context(), "chat", c.id, "bye")
	if m := c.readJSON(); m["event"] != "disconnected" || m["message"] != "bye" {
		t.Fatalf("got %v", m)
	}
	eventually(t, "session ended", func() bool { return e.gw.conn("chat", c.id) == nil })
	r := e.dial(e.recoverURL("chat", c.id, tok), protocol.JSONReliableName)
	if code, _ := r.expectClose(); code != ws.StatusPolicyViolation {
		t.Fatalf("recovery after a server close: %d", code)
	}
}

func TestReliableReplayBufferBound(t *testing.T) {
	e := newEnv(t)
	c, _ := e.dialReliable("chat", "alice", nil, nil)
	c.cut() // never acknowledges; messages pile up in the replay buffer
	eventually(t, "detached", func() bool { return e.gw.conn("chat", c.id).cur.Load() == nil })
	for range maxReplayMessages + 1 {
		_ = e.gw.SendToConnection(t.Context(), "chat", c.id, text("x"), SendOptions{})
	}
	eventually(t, "session closed on overflow", func() bool { return e.gw.conn("chat", c.id) == nil })
}
