package gateway

import (
	"errors"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/kwps/kwps/dataplane/filter"
	"github.com/kwps/kwps/dataplane/protocol"
)

func text(s string) protocol.Payload { return protocol.Payload{Type: protocol.Text, Data: []byte(s)} }

func TestServiceSends(t *testing.T) {
	e := newEnv(t)
	a1 := e.dialJSON("chat", "a", nil, []string{"g"})
	a2 := e.dialJSON("chat", "a", nil, nil)
	b := e.dialJSON("chat", "b", nil, []string{"g"})
	ctx := t.Context()

	// To a user: both of a's connections.
	if err := e.gw.SendToUser(ctx, "chat", "a", text("to-a"), SendOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{a1, a2} {
		if m := c.readJSON(); m["from"] != "server" || m["data"] != "to-a" {
			t.Fatalf("got %v", m)
		}
	}
	b.expectNothing(100 * time.Millisecond)

	// To all, excluding one, and to a group with a filter.
	if err := e.gw.SendToAll(ctx, "chat", text("all"), SendOptions{Excluded: []string{a2.id}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{a1, b} {
		if m := c.readJSON(); m["data"] != "all" {
			t.Fatalf("got %v", m)
		}
	}
	a2.expectNothing(100 * time.Millisecond)
	f, err := filter.Parse("userId ne 'a'")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.gw.SendToGroup(ctx, "chat", "g", text("grp"), SendOptions{Filter: f}); err != nil {
		t.Fatal(err)
	}
	if m := b.readJSON(); m["from"] != "group" || m["group"] != "g" || m["data"] != "grp" || m["fromUserId"] != nil {
		t.Fatalf("got %v", m)
	}
	a1.expectNothing(100 * time.Millisecond)

	// To one connection.
	if err := e.gw.SendToConnection(ctx, "chat", a2.id, text("direct"), SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if m := a2.readJSON(); m["data"] != "direct" {
		t.Fatalf("got %v", m)
	}
}

func TestServiceTTLDropsStaleMessages(t *testing.T) {
	e := newEnv(t)
	c := e.dialJSON("chat", "a", nil, nil)
	// A message with a TTL that has already passed when the writer picks it up is dropped.
	d := newDelivery(e.gw.newPost(serverMessage(text("late")), &SendOptions{TTL: time.Nanosecond}))
	time.Sleep(time.Millisecond)
	d.to(e.gw.conn("chat", c.id))
	if err := e.gw.SendToConnection(t.Context(), "chat", c.id, text("fresh"), SendOptions{TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if m := c.readJSON(); m["data"] != "fresh" {
		t.Fatalf("got %v, want the expired message dropped", m)
	}
}

func TestServiceGroupsUsersAndExistence(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := e.dialJSON("chat", "a", nil, nil)
	e.dialJSON("chat", "b", nil, nil)

	if ok, _ := e.gw.ConnectionExists(ctx, "chat", a.id); !ok {
		t.Fatal("connection should exist")
	}
	if ok, _ := e.gw.UserExists(ctx, "chat", "a"); !ok {
		t.Fatal("user should exist")
	}
	if ok, _ := e.gw.GroupExists(ctx, "chat", "g"); ok {
		t.Fatal("group should not exist yet")
	}
	if err := e.gw.AddConnectionToGroup(ctx, "chat", "g", "nope"); !errors.Is(err, ErrConnectionNotFound) {
		t.Fatalf("add unknown connection: %v", err)
	}
	if err := e.gw.AddUserToGroup(ctx, "chat", "g", "b"); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.AddConnectionToGroup(ctx, "chat", "g", a.id); err != nil {
		t.Fatal(err)
	}
	page, more, _ := e.gw.ListGroupConnections(ctx, "chat", "g", "", 1)
	if len(page) != 1 || !more {
		t.Fatalf("first page %v more=%v", page, more)
	}
	rest, more, _ := e.gw.ListGroupConnections(ctx, "chat", "g", page[0].ConnectionID, 10)
	if len(rest) != 1 || more || rest[0].ConnectionID <= page[0].ConnectionID {
		t.Fatalf("second page %v more=%v", rest, more)
	}
	if err := e.gw.RemoveUserFromAllGroups(ctx, "chat", "b"); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.RemoveConnectionFromGroup(ctx, "chat", "g", a.id); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.gw.GroupExists(ctx, "chat", "g"); ok {
		t.Fatal("group should be gone once empty")
	}

	f, _ := filter.Parse("userId eq 'a'")
	if err := e.gw.AddConnectionsToGroups(ctx, "chat", []string{"x", "y"}, f); err != nil {
		t.Fatal(err)
	}
	page, _, _ = e.gw.ListGroupConnections(ctx, "chat", "y", "", 10)
	if len(page) != 1 || page[0].ConnectionID != a.id || page[0].UserID != "a" {
		t.Fatalf("filtered add: %v", page)
	}
	if err := e.gw.RemoveConnectionsFromGroups(ctx, "chat", []string{"x", "y"}, nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.gw.GroupExists(ctx, "chat", "x"); ok {
		t.Fatal("x should be empty")
	}
}

func TestServiceCloseWithReason(t *testing.T) {
	e := newEnv(t)
	c := e.dialJSON("chat", "a", nil, nil)
	raw := e.dial(e.url("chat", e.token("chat", "a", nil, nil)))
	eventually(t, "two connections", func() bool { return e.gw.Connections("chat") == 2 })
	if err := e.gw.CloseUserConnections(t.Context(), "chat", "a", CloseOptions{Reason: "maintenance"}); err != nil {
		t.Fatal(err)
	}
	m := c.readJSON()
	if m["type"] != "system" || m["event"] != "disconnected" || m["message"] != "maintenance" {
		t.Fatalf("got %v", m)
	}
	for _, cl := range []*client{c, raw} {
		if code, reason := cl.expectClose(); code != ws.StatusNormalClosure || reason != "maintenance" {
			t.Fatalf("close %d %q", code, reason)
		}
	}
	eventually(t, "closed", func() bool { return e.gw.Connections("chat") == 0 })
}

func TestServicePermissions(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c := e.dialJSON("chat", "a", nil, nil)
	if ok, _ := e.gw.CheckPermission(ctx, "chat", c.id, PermSendToGroup, "g"); ok {
		t.Fatal("no permission yet")
	}
	if a := c.ack(map[string]any{"type": "sendToGroup", "group": "g", "ackId": 1, "data": 1}); a["success"] != false {
		t.Fatalf("forbidden send = %v", a)
	}
	if err := e.gw.GrantPermission(ctx, "chat", c.id, PermSendToGroup, "g"); err != nil {
		t.Fatal(err)
	}
	if a := c.ack(map[string]any{"type": "sendToGroup", "group": "g", "ackId": 2, "data": 1}); a["success"] != true {
		t.Fatalf("granted send = %v", a)
	}
	if ok, _ := e.gw.CheckPermission(ctx, "chat", c.id, PermSendToGroup, ""); ok {
		t.Fatal("a grant for g is not a grant for all groups")
	}
	if err := e.gw.GrantPermission(ctx, "chat", c.id, PermJoinLeaveGroup, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.RevokePermission(ctx, "chat", c.id, PermJoinLeaveGroup, "secret"); err != nil {
		t.Fatal(err)
	}
	if a := c.ack(map[string]any{"type": "joinGroup", "group": "secret", "ackId": 3}); a["success"] != false {
		t.Fatalf("revoked group join = %v", a)
	}
	if a := c.ack(map[string]any{"type": "joinGroup", "group": "other", "ackId": 4}); a["success"] != true {
		t.Fatalf("join = %v", a)
	}
	if err := e.gw.GrantPermission(ctx, "chat", "missing", PermJoinLeaveGroup, ""); !errors.Is(err, ErrConnectionNotFound) {
		t.Fatalf("grant on unknown connection: %v", err)
	}
}
