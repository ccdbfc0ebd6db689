package gateway

import (
	"encoding/base64"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/kwps/kwps/dataplane/protocol"
	"github.com/kwps/kwps/dataplane/protocol/pb"
)

// A protobuf client built from the repo's .proto (the generated types), speaking to the gateway.

func (c *client) sendPB(m *pb.UpstreamMessage) {
	c.t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := wsutil.WriteClientBinary(c.conn, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) readPB() *pb.DownstreamMessage {
	c.t.Helper()
	b, op := c.read()
	if op != ws.OpBinary {
		c.t.Fatalf("protobuf frames are binary, got %v", op)
	}
	var m pb.DownstreamMessage
	if err := proto.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("not a DownstreamMessage: %v", err)
	}
	return &m
}

func u64(v uint64) *uint64 { return &v }

func (e *env) dialProtobuf(kind, hub, user string, roles, groups []string) (*client, *pb.DownstreamMessage_SystemMessage_ConnectedMessage) {
	e.t.Helper()
	c := e.dial(e.url(hub, e.token(hub, user, roles, groups)), kind)
	connected := c.readPB().GetSystemMessage().GetConnectedMessage()
	if connected == nil || connected.ConnectionId == "" || connected.UserId != user {
		e.t.Fatalf("connected = %v", connected)
	}
	c.id = connected.ConnectionId
	return c, connected
}

func TestProtobufClient(t *testing.T) {
	e := newEnv(t)
	roles := []string{"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"}
	pbc, connected := e.dialProtobuf(protocol.ProtobufName, "chat", "p", roles, nil)
	if connected.ReconnectionToken != "" {
		t.Fatal("non-reliable protobuf got a reconnection token")
	}
	jc := e.dialJSON("chat", "j", roles, []string{"room"})
	raw := e.dial(e.url("chat", e.token("chat", "r", nil, []string{"room"})))

	pbc.sendPB(&pb.UpstreamMessage{Message: &pb.UpstreamMessage_JoinGroupMessage_{JoinGroupMessage: &pb.UpstreamMessage_JoinGroupMessage{Group: "room", AckId: u64(1)}}})
	if ack := pbc.readPB().GetAckMessage(); ack == nil || ack.AckId != 1 || !ack.Success {
		t.Fatalf("join ack = %v", ack)
	}
	// JSON data reaches protobuf clients as text_data (DESIGN.md decision 1).
	jc.ack(map[string]any{"type": "sendToGroup", "group": "room", "ackId": 1, "noEcho": true, "dataType": "json", "data": map[string]any{"a": 1}})
	dm := pbc.readPB().GetDataMessage()
	if dm == nil || dm.From != "group" || dm.GetGroup() != "room" || dm.GetData().GetTextData() != `{"a":1}` {
		t.Fatalf("json to protobuf = %v", dm)
	}
	raw.read() // the raw member gets the JSON text
	// Binary from a protobuf client: JSON clients see base64, raw clients a binary frame.
	pbc.sendPB(&pb.UpstreamMessage{Message: &pb.UpstreamMessage_SendToGroupMessage_{SendToGroupMessage: &pb.UpstreamMessage_SendToGroupMessage{
		Group: "room", AckId: u64(2), NoEcho: proto.Bool(true), Data: &pb.MessageData{Data: &pb.MessageData_BinaryData{BinaryData: []byte{1, 2, 3}}}}}})
	if ack := pbc.readPB().GetAckMessage(); !ack.GetSuccess() {
		t.Fatalf("send ack = %v", ack)
	}
	if m := jc.readJSON(); m["dataType"] != "binary" || m["data"] != "AQID" {
		t.Fatalf("json member got %v", m)
	}
	if b, op := raw.read(); op != ws.OpBinary || string(b) != "\x01\x02\x03" {
		t.Fatalf("raw member got %q %v", b, op)
	}
	// protobuf_data (an Any) reaches JSON clients as dataType protobuf, base64 of the Any's bytes.
	any, _ := anypb.New(wrapperspb.String("hello"))
	anyBytes, _ := proto.Marshal(any)
	pbc.sendPB(&pb.UpstreamMessage{Message: &pb.UpstreamMessage_SendToGroupMessage_{SendToGroupMessage: &pb.UpstreamMessage_SendToGroupMessage{
		Group: "room", NoEcho: proto.Bool(true), Data: &pb.MessageData{Data: &pb.MessageData_ProtobufData{ProtobufData: any}}}}})
	if m := jc.readJSON(); m["dataType"] != "protobuf" || m["data"] != base64.StdEncoding.EncodeToString(anyBytes) {
		t.Fatalf("json member got %v", m)
	}
	// A client without the role is refused with a Forbidden ack.
	plain, _ := e.dialProtobuf(protocol.ProtobufName, "chat", "q", nil, nil)
	plain.sendPB(&pb.UpstreamMessage{Message: &pb.UpstreamMessage_SendToGroupMessage_{SendToGroupMessage: &pb.UpstreamMessage_SendToGroupMessage{
		Group: "room", AckId: u64(3), Data: &pb.MessageData{Data: &pb.MessageData_TextData{TextData: "t"}}}}})
	if ack := plain.readPB().GetAckMessage(); ack.GetSuccess() || ack.GetError().GetName() != "Forbidden" {
		t.Fatalf("ack = %v", ack)
	}
	pbc.sendPB(&pb.UpstreamMessage{Message: &pb.UpstreamMessage_PingMessage_{PingMessage: &pb.UpstreamMessage_PingMessage{}}})
	if pong := pbc.readPB().GetPongMessage(); pong == nil {
		t.Fatal("no pong")
	}
	// Malformed protobuf closes 1007.
	if err := wsutil.WriteClientBinary(pbc.conn, []byte{0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	if code, _ := pbc.expectClose(); code != ws.StatusInvalidFramePayloadData {
		t.Fatalf("malformed: close %d", code)
	}
}

func TestProtobufReliableRecovery(t *testing.T) {
	e := newEnv(t)
	c, connected := e.dialProtobuf(protocol.ProtobufReliableName, "chat", "p", nil, []string{"room"})
	if connected.ReconnectionToken == "" {
		t.Fatal("reliable protobuf without a reconnection token")
	}
	for _, s := range []string{"a", "b", "c"} {
		_ = e.gw.SendToGroup(t.Context(), "chat", "room", text(s), SendOptions{})
	}
	for i, s := range []string{"a", "b", "c"} {
		dm := c.readPB().GetDataMessage()
		if dm.GetSequenceId() != uint64(i+1) || dm.GetData().GetTextData() != s {
			t.Fatalf("message %d = %v", i, dm)
		}
	}
	c.sendPB(&pb.UpstreamMessage{Message: &pb.UpstreamMessage_SequenceAckMessage_{SequenceAckMessage: &pb.UpstreamMessage_SequenceAckMessage{SequenceId: 2}}})
	c.cut()
	eventually(t, "detached", func() bool { return e.gw.conn("chat", c.id).cur.Load() == nil })
	r := e.dial(e.recoverURL("chat", c.id, connected.ReconnectionToken), protocol.ProtobufReliableName)
	if again := r.readPB().GetSystemMessage().GetConnectedMessage(); again.GetConnectionId() != c.id {
		t.Fatalf("recovered connected = %v", again)
	}
	if dm := r.readPB().GetDataMessage(); dm.GetSequenceId() != 3 || dm.GetData().GetTextData() != "c" {
		t.Fatalf("replayed = %v", dm)
	}
}
