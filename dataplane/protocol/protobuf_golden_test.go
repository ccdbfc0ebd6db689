package protocol

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/kwps/kwps/dataplane/protocol/pb"
)

// The golden vectors are written out by hand from the field numbers of PROTOCOL.md §4.4 and checked
// three ways: against our codec, against proto.Marshal/Unmarshal of the generated types, and, where the
// official C# protobuf client has a vector for the same message, against that client's bytes
// (Azure/azure-webpubsub sdk/clients/protobuf-client/csharp/tests/WebPubSubProtobufProtocolHelperTests.cs,
// whose base64 strings are quoted in the csharp column; its schema is
// sdk/clients/protobuf-client/csharp/src/Protos/webpubsub.client.proto).

// unhex decodes a hex string written with spaces between the fields.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// anyHello is a google.protobuf.Any holding a StringValue "hi": type_url (field 1) then value (field 2).
var anyHello = func() []byte {
	a, err := anypb.New(wrapperspb.String("hi"))
	if err != nil {
		panic(err)
	}
	b, err := proto.Marshal(a)
	if err != nil {
		panic(err)
	}
	return b
}()

const anyHelloHex = "0a 2f " + "747970652e676f6f676c65617069732e636f6d2f676f6f676c652e70726f746f6275662e537472696e6756616c7565" +
	" 12 04 0a 02 6869" // "type.googleapis.com/google.protobuf.StringValue", StringValue{value: "hi"}

type upstreamGolden struct {
	name   string
	hex    string
	csharp string // the C# client's bytes for the same message, base64; "" when it has none
	want   Request
	pb     *pb.UpstreamMessage
}

func upstreamGoldens() []upstreamGolden {
	up := func(m any) *pb.UpstreamMessage {
		switch m := m.(type) {
		case *pb.UpstreamMessage_SendToGroupMessage:
			return &pb.UpstreamMessage{Message: &pb.UpstreamMessage_SendToGroupMessage_{SendToGroupMessage: m}}
		case *pb.UpstreamMessage_EventMessage:
			return &pb.UpstreamMessage{Message: &pb.UpstreamMessage_EventMessage_{EventMessage: m}}
		case *pb.UpstreamMessage_JoinGroupMessage:
			return &pb.UpstreamMessage{Message: &pb.UpstreamMessage_JoinGroupMessage_{JoinGroupMessage: m}}
		case *pb.UpstreamMessage_LeaveGroupMessage:
			return &pb.UpstreamMessage{Message: &pb.UpstreamMessage_LeaveGroupMessage_{LeaveGroupMessage: m}}
		case *pb.UpstreamMessage_SequenceAckMessage:
			return &pb.UpstreamMessage{Message: &pb.UpstreamMessage_SequenceAckMessage_{SequenceAckMessage: m}}
		case *pb.UpstreamMessage_PingMessage:
			return &pb.UpstreamMessage{Message: &pb.UpstreamMessage_PingMessage_{PingMessage: m}}
		}
		panic("not an upstream case")
	}
	text := func(s string) *pb.MessageData { return &pb.MessageData{Data: &pb.MessageData_TextData{TextData: s}} }
	anyMsg := &anypb.Any{}
	if err := proto.Unmarshal(anyHello, anyMsg); err != nil {
		panic(err)
	}
	return []upstreamGolden{
		{"joinGroup", "32 07 0a05 67726f7570", "MgcKBWdyb3Vw",
			Request{Type: JoinGroup, Group: "group"},
			up(&pb.UpstreamMessage_JoinGroupMessage{Group: "group"})},
		{"joinGroup ackId 44133", "32 0b 0a05 67726f7570 10 e5d802", "MgsKBWdyb3VwEOXYAg==",
			Request{Type: JoinGroup, Group: "group", AckID: 44133, HasAckID: true},
			up(&pb.UpstreamMessage_JoinGroupMessage{Group: "group", AckId: proto.Uint64(44133)})},
		{"leaveGroup", "3a 07 0a05 67726f7570", "OgcKBWdyb3Vw",
			Request{Type: LeaveGroup, Group: "group"},
			up(&pb.UpstreamMessage_LeaveGroupMessage{Group: "group"})},
		{"leaveGroup ackId 12345", "3a 0a 0a05 67726f7570 10 b960", "OgoKBWdyb3VwELlg",
			Request{Type: LeaveGroup, Group: "group", AckID: 12345, HasAckID: true},
			up(&pb.UpstreamMessage_LeaveGroupMessage{Group: "group", AckId: proto.Uint64(12345)})},
		{"sendToGroup text, noEcho false", "0a 10 0a05 67726f7570 1a 05 0a03 787a79 20 00", "ChAKBWdyb3VwGgUKA3h6eSAA",
			Request{Type: SendToGroup, Group: "group", Payload: Payload{Type: Text, Data: []byte("xzy")}},
			up(&pb.UpstreamMessage_SendToGroupMessage{Group: "group", Data: text("xzy"), NoEcho: proto.Bool(false)})},
		// The C# client sends JSON as text_data; it arrives as text, as the docs say.
		{"sendToGroup JSON as text_data, ackId 12345",
			"0a 1f 0a05 67726f7570 10 b960 1a 11 0a0f 7b2276616c7565223a22787a79227d 20 00",
			"Ch8KBWdyb3VwELlgGhEKD3sidmFsdWUiOiJ4enkifSAA",
			Request{Type: SendToGroup, Group: "group", AckID: 12345, HasAckID: true, Payload: Payload{Type: Text, Data: []byte(`{"value":"xzy"}`)}},
			up(&pb.UpstreamMessage_SendToGroupMessage{Group: "group", AckId: proto.Uint64(12345), Data: text(`{"value":"xzy"}`), NoEcho: proto.Bool(false)})},
		{"sendToGroup binary, noEcho, ackId 1", "0a 0e 0a01 67 10 01 1a 05 1203 010203 20 01", "",
			Request{Type: SendToGroup, Group: "g", AckID: 1, HasAckID: true, NoEcho: true, Payload: Payload{Type: Binary, Data: []byte{1, 2, 3}}},
			up(&pb.UpstreamMessage_SendToGroupMessage{Group: "g", AckId: proto.Uint64(1), NoEcho: proto.Bool(true),
				Data: &pb.MessageData{Data: &pb.MessageData_BinaryData{BinaryData: []byte{1, 2, 3}}}})},
		{"sendToGroup json_data", "0a 10 0a01 67 1a 0b 2209 7b2261223a5b315d7d", "",
			Request{Type: SendToGroup, Group: "g", Payload: Payload{Type: JSONData, Data: []byte(`{"a":[1]}`)}},
			up(&pb.UpstreamMessage_SendToGroupMessage{Group: "g", Data: &pb.MessageData{Data: &pb.MessageData_JsonData{JsonData: `{"a":[1]}`}}})},
		{"event text", "2a 0e 0a05 6576656e74 12 05 0a03 787a79", "Kg4KBWV2ZW50EgUKA3h6eQ==",
			Request{Type: Event, Event: "event", Payload: Payload{Type: Text, Data: []byte("xzy")}},
			up(&pb.UpstreamMessage_EventMessage{Event: "event", Data: text("xzy")})},
		{"event protobuf_data, ackId 7", "2a 40 0a01 65 12 39 1a37 " + anyHelloHex + " 18 07", "",
			Request{Type: Event, Event: "e", AckID: 7, HasAckID: true, Payload: Payload{Type: ProtobufData, Data: anyHello}},
			up(&pb.UpstreamMessage_EventMessage{Event: "e", AckId: proto.Uint64(7),
				Data: &pb.MessageData{Data: &pb.MessageData_ProtobufData{ProtobufData: anyMsg}}})},
		{"sequenceAck 123456", "42 04 08 c0c407", "QgQIwMQH",
			Request{Type: SequenceAck, SequenceID: 123456},
			up(&pb.UpstreamMessage_SequenceAckMessage{SequenceId: 123456})},
		{"ping", "4a 00", "",
			Request{Type: Ping},
			up(&pb.UpstreamMessage_PingMessage{})},
	}
}

func TestProtobufUpstreamGolden(t *testing.T) {
	for _, tc := range upstreamGoldens() {
		t.Run(tc.name, func(t *testing.T) {
			in := unhex(t, tc.hex)
			if tc.csharp != "" {
				cs, err := base64.StdEncoding.DecodeString(tc.csharp)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(in, cs) {
					t.Fatalf("vector % x differs from the C# client's % x", in, cs)
				}
			}
			marshaled, err := proto.MarshalOptions{Deterministic: true}.Marshal(tc.pb)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, marshaled) {
				t.Fatalf("vector % x differs from proto.Marshal % x", in, marshaled)
			}
			got, err := DecodeProtobuf(in)
			if err != nil {
				t.Fatal(err)
			}
			if !requestsEqual(got, tc.want) {
				t.Fatalf("DecodeProtobuf = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

type downstreamGolden struct {
	name   string
	encode func(dst []byte) []byte
	hex    string
	csharp string
	pb     *pb.DownstreamMessage
}

func downstreamGoldens() []downstreamGolden {
	down := func(m any) *pb.DownstreamMessage {
		switch m := m.(type) {
		case *pb.DownstreamMessage_AckMessage:
			return &pb.DownstreamMessage{Message: &pb.DownstreamMessage_AckMessage_{AckMessage: m}}
		case *pb.DownstreamMessage_DataMessage:
			return &pb.DownstreamMessage{Message: &pb.DownstreamMessage_DataMessage_{DataMessage: m}}
		case *pb.DownstreamMessage_SystemMessage:
			return &pb.DownstreamMessage{Message: &pb.DownstreamMessage_SystemMessage_{SystemMessage: m}}
		case *pb.DownstreamMessage_PongMessage:
			return &pb.DownstreamMessage{Message: &pb.DownstreamMessage_PongMessage_{PongMessage: m}}
		}
		panic("not a downstream case")
	}
	connected := func(c *pb.DownstreamMessage_SystemMessage_ConnectedMessage) *pb.DownstreamMessage {
		return down(&pb.DownstreamMessage_SystemMessage{Message: &pb.DownstreamMessage_SystemMessage_ConnectedMessage_{ConnectedMessage: c}})
	}
	disconnected := func(reason string) *pb.DownstreamMessage {
		return down(&pb.DownstreamMessage_SystemMessage{Message: &pb.DownstreamMessage_SystemMessage_DisconnectedMessage_{
			DisconnectedMessage: &pb.DownstreamMessage_SystemMessage_DisconnectedMessage{Reason: reason}}})
	}
	text := func(s string) *pb.MessageData { return &pb.MessageData{Data: &pb.MessageData_TextData{TextData: s}} }
	message := func(m Message) func([]byte) []byte {
		return func(dst []byte) []byte { return AppendProtobufMessage(dst, &m) }
	}
	sequenced := func(m Message, seq uint64) func([]byte) []byte {
		return func(dst []byte) []byte {
			body := AppendProtobufMessage(nil, &m)
			head, from, tail := ProtobufSequenced(nil, body, seq)
			return append(append(append(dst, head...), body[from:]...), tail...)
		}
	}
	anyMsg := &anypb.Any{}
	if err := proto.Unmarshal(anyHello, anyMsg); err != nil {
		panic(err)
	}
	return []downstreamGolden{
		{"ack success", func(dst []byte) []byte { return AppendProtobufAck(dst, 123, "", "") },
			"0a 04 08 7b 10 01", "CgQIexAB",
			down(&pb.DownstreamMessage_AckMessage{AckId: 123, Success: true})},
		// The C# vector also writes success = false (10 00); proto3 leaves the default out, and both parse
		// to the same message (checked below).
		{"ack Forbidden", func(dst []byte) []byte { return AppendProtobufAck(dst, 123, "Forbidden", "message") },
			"0a 18 08 7b 1a 14 0a09 466f7262696464656e 1207 6d657373616765", "ChoIexAAGhQKCUZvcmJpZGRlbhIHbWVzc2FnZQ==",
			down(&pb.DownstreamMessage_AckMessage{AckId: 123, Error: &pb.DownstreamMessage_AckMessage_ErrorMessage{Name: "Forbidden", Message: "message"}})},
		{"ack ackId 0", func(dst []byte) []byte { return AppendProtobufAck(dst, 0, "", "") },
			"0a 02 10 01", "",
			down(&pb.DownstreamMessage_AckMessage{Success: true})},
		{"group message, reliable seq 12345",
			sequenced(Message{From: FromGroup, Group: "groupName", FromUserID: "u", HasFromUserID: true, Payload: Payload{Type: Text, Data: []byte("xyz")}}, 12345),
			"12 1c 0a05 67726f7570 1209 67726f75704e616d65 1a05 0a03 78797a 20 b960", "EhwKBWdyb3VwEglncm91cE5hbWUaBQoDeHl6ILlg",
			down(&pb.DownstreamMessage_DataMessage{From: "group", Group: proto.String("groupName"), Data: text("xyz"), SequenceId: proto.Uint64(12345)})},
		{"server message, reliable seq 12345",
			sequenced(Message{From: FromServer, Payload: Payload{Type: Text, Data: []byte("xyz")}}, 12345),
			"12 12 0a06 736572766572 1a05 0a03 78797a 20 b960", "EhIKBnNlcnZlchoFCgN4eXoguWA=",
			down(&pb.DownstreamMessage_DataMessage{From: "server", Data: text("xyz"), SequenceId: proto.Uint64(12345)})},
		{"group message", message(Message{From: FromGroup, Group: "g", Payload: Payload{Type: Text, Data: []byte("xyz")}}),
			"12 11 0a05 67726f7570 1201 67 1a05 0a03 78797a", "",
			down(&pb.DownstreamMessage_DataMessage{From: "group", Group: proto.String("g"), Data: text("xyz")})},
		{"server JSON goes as text_data", message(Message{From: FromServer, Payload: Payload{Type: JSONData, Data: []byte(`{"k":1}`)}}),
			"12 13 0a06 736572766572 1a09 0a07 7b226b223a317d", "",
			down(&pb.DownstreamMessage_DataMessage{From: "server", Data: text(`{"k":1}`)})},
		{"server binary", message(Message{From: FromServer, Payload: Payload{Type: Binary, Data: []byte{1, 2, 3}}}),
			"12 0f 0a06 736572766572 1a05 1203 010203", "",
			down(&pb.DownstreamMessage_DataMessage{From: "server", Data: &pb.MessageData{Data: &pb.MessageData_BinaryData{BinaryData: []byte{1, 2, 3}}}})},
		{"server empty binary", message(Message{From: FromServer, Payload: Payload{Type: Binary}}),
			"12 0c 0a06 736572766572 1a02 1200", "",
			down(&pb.DownstreamMessage_DataMessage{From: "server", Data: &pb.MessageData{Data: &pb.MessageData_BinaryData{BinaryData: []byte{}}}})},
		{"server protobuf_data", message(Message{From: FromServer, Payload: Payload{Type: ProtobufData, Data: anyHello}}),
			"12 43 0a06 736572766572 1a39 1a37 " + anyHelloHex, "",
			down(&pb.DownstreamMessage_DataMessage{From: "server", Data: &pb.MessageData{Data: &pb.MessageData_ProtobufData{ProtobufData: anyMsg}}})},
		{"connected", func(dst []byte) []byte { return AppendProtobufConnected(dst, "connection", "user", true, "") },
			"1a 14 0a12 0a0a 636f6e6e656374696f6e 1204 75736572", "GhQKEgoKY29ubmVjdGlvbhIEdXNlcg==",
			connected(&pb.DownstreamMessage_SystemMessage_ConnectedMessage{ConnectionId: "connection", UserId: "user"})},
		{"connected, reliable", func(dst []byte) []byte { return AppendProtobufConnected(dst, "connection", "user", true, "rec") },
			"1a 19 0a17 0a0a 636f6e6e656374696f6e 1204 75736572 1a03 726563", "GhkKFwoKY29ubmVjdGlvbhIEdXNlchoDcmVj",
			connected(&pb.DownstreamMessage_SystemMessage_ConnectedMessage{ConnectionId: "connection", UserId: "user", ReconnectionToken: "rec"})},
		{"connected, anonymous", func(dst []byte) []byte { return AppendProtobufConnected(dst, "c", "ignored", false, "") },
			"1a 05 0a03 0a01 63", "",
			connected(&pb.DownstreamMessage_SystemMessage_ConnectedMessage{ConnectionId: "c"})},
		{"disconnected", func(dst []byte) []byte { return AppendProtobufDisconnected(dst, "msg") },
			"1a 07 1205 1203 6d7367", "GgcSBRIDbXNn",
			disconnected("msg")},
		{"disconnected, no reason", func(dst []byte) []byte { return AppendProtobufDisconnected(dst, "") },
			"1a 02 1200", "",
			disconnected("")},
		{"pong", func(dst []byte) []byte { return append(dst, ProtobufPong...) },
			"22 00", "",
			down(&pb.DownstreamMessage_PongMessage{})},
	}
}

func TestProtobufDownstreamGolden(t *testing.T) {
	for _, tc := range downstreamGoldens() {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.hex)
			got := tc.encode([]byte("prefix"))
			if !bytes.HasPrefix(got, []byte("prefix")) {
				t.Fatalf("the encoder did not append to dst: % x", got)
			}
			got = got[len("prefix"):]
			if !bytes.Equal(got, want) {
				t.Fatalf("encoded % x\nwant    % x", got, want)
			}
			marshaled, err := proto.MarshalOptions{Deterministic: true}.Marshal(tc.pb)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, marshaled) {
				t.Fatalf("encoded       % x\nproto.Marshal % x", got, marshaled)
			}
			var parsed pb.DownstreamMessage
			if err := proto.Unmarshal(got, &parsed); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(&parsed, tc.pb) {
				t.Fatalf("proto.Unmarshal = %v\nwant %v", &parsed, tc.pb)
			}
			if tc.csharp == "" {
				return
			}
			cs, err := base64.StdEncoding.DecodeString(tc.csharp)
			if err != nil {
				t.Fatal(err)
			}
			var fromCS pb.DownstreamMessage
			if err := proto.Unmarshal(cs, &fromCS); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(&fromCS, &parsed) {
				t.Fatalf("the C# client's vector means %v\nours means %v", &fromCS, &parsed)
			}
		})
	}
}

// requestsEqual compares decoded requests; payload bytes by value.
func requestsEqual(a, b Request) bool {
	return a.Type == b.Type && a.Group == b.Group && a.Event == b.Event && a.AckID == b.AckID &&
		a.HasAckID == b.HasAckID && a.NoEcho == b.NoEcho && a.SequenceID == b.SequenceID &&
		a.Payload.Type == b.Payload.Type && bytes.Equal(a.Data, b.Data)
}
