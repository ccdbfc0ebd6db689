package gateway

import (
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/kwps/kwps/dataplane/protocol"
)

func TestRawSendToGroupMode(t *testing.T) {
	e := newEnv(t)
	listener := e.dialJSON("chat", "l", nil, []string{"room"})
	rawListener := e.dial(e.url("chat", e.token("chat", "r", nil, []string{"room"})))
	sender := e.dial(e.url("chat", e.token("chat", "s", []string{"webpubsub.sendToGroup.room"}, []string{"room"}),
		"webpubsub_mode=sendToGroup", "group=room", "noEcho=true"))
	if err := wsutil.WriteClientText(sender.conn, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if m := listener.readJSON(); m["group"] != "room" || m["dataType"] != "text" || m["data"] != "hello" || m["fromUserId"] != "s" {
		t.Fatalf("json listener got %v", m)
	}
	if b, op := rawListener.read(); string(b) != "hello" || op != ws.OpText {
		t.Fatalf("raw listener got %q %v", b, op)
	}
	if err := wsutil.WriteClientBinary(sender.conn, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if m := listener.readJSON(); m["dataType"] != "binary" || m["data"] != "AQID" {
		t.Fatalf("json listener got %v", m)
	}
	if b, op := rawListener.read(); string(b) != "\x01\x02\x03" || op != ws.OpBinary {
		t.Fatalf("raw listener got %q %v", b, op)
	}
	sender.expectNothing(200e6) // noEcho
}

func TestRawSendToGroupModeRefusals(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name   string
		roles  []string
		query  []string
		status int
		body   string
	}{
		{"no permission", nil, []string{"webpubsub_mode=sendToGroup", "group=room"}, 403, "permission to send to group 'room'"},
		{"missing group", []string{"webpubsub.sendToGroup"}, []string{"webpubsub_mode=sendToGroup"}, 400, "exactly one valid group"},
		{"two groups", []string{"webpubsub.sendToGroup"}, []string{"webpubsub_mode=sendToGroup", "group=a", "group=b"}, 400, "exactly one"},
		{"unknown mode", nil, []string{"webpubsub_mode=broadcast"}, 400, "Invalid webpubsub_mode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.refused(e.url("chat", e.token("chat", "u", tc.roles, nil), tc.query...))
			if status != tc.status || !strings.Contains(body, tc.body) {
				t.Fatalf("got %d %q", status, body)
			}
		})
	}
}

func TestRawSendEventWithoutHandlerDrops(t *testing.T) {
	e := newEnv(t)
	c := e.dial(e.url("chat", e.token("chat", "u", nil, nil)))
	if err := wsutil.WriteClientText(c.conn, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	code, reason := c.expectClose()
	if code != ws.StatusNormalClosure || !strings.Contains(reason, "No event handler") {
		t.Fatalf("close %d %q", code, reason)
	}
	eventually(t, "connection gone", func() bool { return e.gw.Connections("chat") == 0 })
}

func TestRawClientsReceiveServerMessages(t *testing.T) {
	e := newEnv(t)
	c := e.dial(e.url("chat", e.token("chat", "u", nil, nil)))
	eventually(t, "registered", func() bool { return e.gw.Connections("chat") == 1 })
	for _, tc := range []struct {
		p  protocol.Payload
		op ws.OpCode
	}{
		{protocol.Payload{Type: protocol.Text, Data: []byte("t")}, ws.OpText},
		{protocol.Payload{Type: protocol.JSONData, Data: []byte(`{"a":1}`)}, ws.OpText},
		{protocol.Payload{Type: protocol.Binary, Data: []byte{0, 1}}, ws.OpBinary},
	} {
		if err := e.gw.SendToAll(t.Context(), "chat", tc.p, SendOptions{}); err != nil {
			t.Fatal(err)
		}
		if b, op := c.read(); string(b) != string(tc.p.Data) || op != tc.op {
			t.Fatalf("got %q %v, want %q %v", b, op, tc.p.Data, tc.op)
		}
	}
}
