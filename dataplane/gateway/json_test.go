package gateway

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

func TestJoinSendLeave(t *testing.T) {
	e := newEnv(t)
	alice := e.dialJSON("chat", "alice", []string{"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"}, nil)
	bob := e.dialJSON("chat", "bob", []string{"webpubsub.joinLeaveGroup"}, nil)
	for _, c := range []*client{alice, bob} {
		if a := c.ack(map[string]any{"type": "joinGroup", "group": "room", "ackId": 1}); a["success"] != true {
			t.Fatalf("join ack = %v", a)
		}
	}
	cases := []struct {
		dataType string
		data     any
		want     any
	}{
		{"text", "hello", "hello"},
		{"json", map[string]any{"k": "v"}, map[string]any{"k": "v"}},
		{"json", "a json string", "a json string"},
		{"binary", base64.StdEncoding.EncodeToString([]byte{1, 2, 3}), "AQID"},
	}
	for i, tc := range cases {
		a := alice.ack(map[string]any{"type": "sendToGroup", "group": "room", "ackId": 10 + i, "dataType": tc.dataType, "data": tc.data})
		if a["success"] != true {
			t.Fatalf("send ack = %v", a)
		}
		for _, c := range []*client{bob, alice} {
			m := c.readJSON()
			if m["type"] != "message" || m["from"] != "group" || m["group"] != "room" || m["fromUserId"] != "alice" || m["dataType"] != tc.dataType {
				t.Fatalf("message = %v", m)
			}
			if !equalJSON(m["data"], tc.want) {
				t.Fatalf("data = %#v, want %#v", m["data"], tc.want)
			}
		}
	}
	// noEcho: the sender does not get its own message.
	alice.ack(map[string]any{"type": "sendToGroup", "group": "room", "ackId": 20, "noEcho": true, "dataType": "text", "data": "quiet"})
	if m := bob.readJSON(); m["data"] != "quiet" {
		t.Fatalf("bob got %v", m)
	}
	alice.expectNothing(200e6)
	// After leaving, bob gets nothing.
	bob.ack(map[string]any{"type": "leaveGroup", "group": "room", "ackId": 2})
	alice.ack(map[string]any{"type": "sendToGroup", "group": "room", "ackId": 21, "noEcho": true, "dataType": "text", "data": "gone"})
	bob.expectNothing(200e6)
}

func equalJSON(a, b any) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k := range av {
			if !equalJSON(av[k], bv[k]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestPermissions(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name  string
		roles []string
		req   map[string]any
		ok    bool
	}{
		{"no role cannot join", nil, map[string]any{"type": "joinGroup", "group": "g"}, false},
		{"no role cannot send", nil, map[string]any{"type": "sendToGroup", "group": "g", "data": 1}, false},
		{"group role joins its group", []string{"webpubsub.joinLeaveGroup.g"}, map[string]any{"type": "joinGroup", "group": "g"}, true},
		{"group role not another", []string{"webpubsub.joinLeaveGroup.g"}, map[string]any{"type": "joinGroup", "group": "h"}, false},
		{"dotted group name literal", []string{"webpubsub.sendToGroup.a.b"}, map[string]any{"type": "sendToGroup", "group": "a.b", "data": 1}, true},
		{"wildcard one segment", []string{"webpubsub.joinLeaveGroups.room.*"}, map[string]any{"type": "joinGroup", "group": "room.1"}, true},
		{"wildcard not two segments", []string{"webpubsub.joinLeaveGroups.room.*"}, map[string]any{"type": "joinGroup", "group": "room.1.2"}, false},
		{"double star any depth", []string{"webpubsub.sendToGroups.room.**"}, map[string]any{"type": "sendToGroup", "group": "room.1.2", "data": 1}, true},
		{"roles are case-sensitive", []string{"webpubsub.joinleavegroup"}, map[string]any{"type": "joinGroup", "group": "g"}, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dialJSON("chat", "u", tc.roles, nil)
			tc.req["ackId"] = i + 1
			a := c.ack(tc.req)
			if (a["success"] == true) != tc.ok {
				t.Fatalf("ack = %v, want success %v", a, tc.ok)
			}
			if !tc.ok {
				errObj := a["error"].(map[string]any)
				if errObj["name"] != "Forbidden" || !strings.Contains(errObj["message"].(string), "permission") {
					t.Fatalf("error = %v", errObj)
				}
			}
		})
	}
}

func TestDuplicateAck(t *testing.T) {
	e := newEnv(t)
	c := e.dialJSON("chat", "u", []string{"webpubsub.joinLeaveGroup"}, nil)
	if a := c.ack(map[string]any{"type": "joinGroup", "group": "g", "ackId": 7}); a["success"] != true {
		t.Fatalf("first = %v", a)
	}
	a := c.ack(map[string]any{"type": "joinGroup", "group": "g", "ackId": 7})
	errObj, _ := a["error"].(map[string]any)
	if a["success"] != false || errObj["name"] != "Duplicate" || errObj["message"] != "Message with ack-id: 7 has been processed" {
		t.Fatalf("duplicate = %v", a)
	}
	// A failed request's ackId is not remembered: the retry runs.
	if a := c.ack(map[string]any{"type": "sendToGroup", "group": "g", "ackId": 8, "data": 1}); a["success"] != false {
		t.Fatalf("forbidden send = %v", a)
	}
	if a := c.ack(map[string]any{"type": "sendToGroup", "group": "g", "ackId": 8, "data": 1}); a["error"].(map[string]any)["name"] != "Forbidden" {
		t.Fatalf("retried forbidden send = %v", a)
	}
}

func TestPingPong(t *testing.T) {
	e := newEnv(t)
	c := e.dialJSON("chat", "u", nil, nil)
	c.send(map[string]any{"type": "ping"})
	if m := c.readJSON(); m["type"] != "pong" {
		t.Fatalf("got %v", m)
	}
}

func TestEventWithoutHandlerIsAnError(t *testing.T) {
	e := newEnv(t)
	c := e.dialJSON("chat", "u", nil, nil)
	a := c.ack(map[string]any{"type": "event", "event": "chat", "ackId": 1, "dataType": "text", "data": "x"})
	if a["success"] != false || a["error"].(map[string]any)["name"] != "InternalServerError" {
		t.Fatalf("ack = %v", a)
	}
	// The connection stays usable.
	c.send(map[string]any{"type": "ping"})
	if m := c.readJSON(); m["type"] != "pong" {
		t.Fatalf("got %v", m)
	}
}

func TestTooManyGroups(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxGroupsPerConnection = 3 })
	c := e.dialJSON("chat", "u", []string{"webpubsub.joinLeaveGroup"}, nil)
	for i := range 3 {
		if a := c.ack(map[string]any{"type": "joinGroup", "group": string(rune('a' + i)), "ackId": i + 1}); a["success"] != true {
			t.Fatalf("join %d = %v", i, a)
		}
	}
	a := c.ack(map[string]any{"type": "joinGroup", "group": "d", "ackId": 9})
	errObj, _ := a["error"].(map[string]any)
	if a["success"] != false || errObj["name"] != "BadRequest" || !strings.Contains(errObj["message"].(string), "too many groups") {
		t.Fatalf("ack = %v", a)
	}
	// A token with more groups than allowed is refused at the upgrade.
	if status, body := e.refused(e.url("chat", e.token("chat", "u", nil, []string{"a", "b", "c", "d"})), "json.webpubsub.azure.v1"); status != 400 || !strings.Contains(body, "Too many groups") {
		t.Fatalf("got %d %q", status, body)
	}
}

func TestMalformedMessagesClose(t *testing.T) {
	cases := []struct {
		name   string
		frame  []byte
		reason string
	}{
		{"not JSON", []byte(`{"type":`), "invalid JSON"},
		{"unknown type", []byte(`{"type":"launchMissiles"}`), "unknown message type"},
		{"missing type", []byte(`{"group":"g"}`), "'type' is required"},
		{"join without group", []byte(`{"type":"joinGroup"}`), "'group' is required"},
		{"text with non-string", []byte(`{"type":"sendToGroup","group":"g","dataType":"text","data":1}`), "must be a string"},
		{"bad base64", []byte(`{"type":"sendToGroup","group":"g","dataType":"binary","data":"!!"}`), "base64"},
		{"unknown dataType", []byte(`{"type":"event","event":"e","dataType":"xml","data":"x"}`), "unknown dataType"},
		{"ackId negative", []byte(`{"type":"joinGroup","group":"g","ackId":-1}`), "wrong type"},
		{"too deep", []byte(`{"type":"event","event":"e","data":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`), "nested deeper"},
	}
	e := newEnv(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dialJSON("chat", "u", nil, nil)
			c.sendText(tc.frame)
			code, reason := c.expectClose()
			if code != ws.StatusInvalidFramePayloadData || !strings.Contains(reason, tc.reason) {
				t.Fatalf("close %d %q, want 1007 containing %q", code, reason, tc.reason)
			}
		})
	}
}

func TestJSONInBinaryFrameAccepted(t *testing.T) {
	e := newEnv(t)
	c := e.dialJSON("chat", "u", nil, nil)
	if err := wsutil.WriteClientBinary(c.conn, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if m := c.readJSON(); m["type"] != "pong" {
		t.Fatalf("got %v", m)
	}
}
