package protocol

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/kwps/kwps/dataplane/protocol/pb"
)

// protobufAccepted are encodings that are valid but unusual: clients and other protobuf libraries may
// produce them, and DecodeProtobuf must read them as proto does.
var protobufAccepted = []struct {
	name string
	hex  string
	want Request
}{
	{"a later case replaces an earlier one", "32 03 0a01 61 3a 03 0a01 62", Request{Type: LeaveGroup, Group: "b"}},
	{"the same case twice merges", "32 03 0a01 61 32 02 10 05", Request{Type: JoinGroup, Group: "a", AckID: 5, HasAckID: true}},
	{"fields in any order", "0a 0a 1a 03 0a01 78 20 01 0a01 67", Request{Type: SendToGroup, Group: "g", NoEcho: true, Payload: Payload{Type: Text, Data: []byte("x")}}},
	{"the last data case wins", "0a 0c 0a01 67 1a 07 0a01 78 1202 0102", Request{Type: SendToGroup, Group: "g", Payload: Payload{Type: Binary, Data: []byte{1, 2}}}},
	{"data fields merge", "0a 0d 0a01 67 1a 03 0a01 78 1a 03 0a01 79", Request{Type: SendToGroup, Group: "g", Payload: Payload{Type: Text, Data: []byte("y")}}},
	{"empty text", "0a 07 0a01 67 1a02 0a00", Request{Type: SendToGroup, Group: "g", Payload: Payload{Type: Text, Data: []byte{}}}},
	{"non-minimal tag and length", "b200 8300 0a01 61", Request{Type: JoinGroup, Group: "a"}},
	{"unknown fields skipped", "32 0e 0a01 61 7801 8201 02 6869 0b 0801 0c", Request{Type: JoinGroup, Group: "a"}},
	{"unknown top-level field after the case", "32 03 0a01 61 f801 01", Request{Type: JoinGroup, Group: "a"}},
	{"ack_id from an int64 -1 (C# schema)", "32 0e 0a01 61 10 ffffffffffffffffff01", Request{Type: JoinGroup, Group: "a", AckID: math.MaxUint64, HasAckID: true}},
	{"no_echo any non-zero varint", "0a 0a 0a01 67 1a03 0a01 78 20 02", Request{Type: SendToGroup, Group: "g", NoEcho: true, Payload: Payload{Type: Text, Data: []byte("x")}}},
	{"ttl_seconds, metadata and stream read and ignored", "0a 17 0a01 67 1a03 0a01 78 2805 3206 0a01 6b 1201 76 3a 03 0a01 73",
		Request{Type: SendToGroup, Group: "g", Payload: Payload{Type: Text, Data: []byte("x")}}},
	{"sequenceAck 0", "42 00", Request{Type: SequenceAck}},
	{"sequenceAck max", "42 0b 08 ffffffffffffffffff01", Request{Type: SequenceAck, SequenceID: math.MaxUint64}},
	{"event name of 128 bytes", "2a 88 01 0a 80 01" + strings.Repeat("65", 128) + "12 03 0a01 78",
		Request{Type: Event, Event: strings.Repeat("e", 128), Payload: Payload{Type: Text, Data: []byte("x")}}},
}

// protobufRefused are messages DecodeProtobuf must refuse, with a word the error must contain.
var protobufRefused = []struct {
	name, hex, want string
}{
	{"empty frame", "", "empty"},
	{"unsupported official case", "52 00", "invoke_event_message (field 10)"},
	{"unsupported stream data", "6a 00", "stream_data_message"},
	{"unknown case", "d202 00", "unknown message field 42"},
	{"known case with the wrong wire type", "30 01", "unknown message field 6"},
	{"joinGroup without group", "32 00", "'group' is required for joinGroup"},
	{"leaveGroup whitespace group", "3a 03 0a01 20", "group name"},
	{"joinGroup group of 1025 bytes", "32 84 08 0a 81 08" + strings.Repeat("61", 1025), "group name"},
	{"sendToGroup without data", "0a 03 0a01 67", "'data' is required for sendToGroup"},
	{"sendToGroup with empty data", "0a 05 0a01 67 1a00", "'data' is empty"},
	{"data with an unknown case", "0a 07 0a01 67 1a02 2a00", "'data' field 5"},
	{"event without name", "2a 04 12 02 0a00", "'event' is required"},
	{"event without data", "2a 03 0a01 65", "'data' is required for event"},
	{"event name of 129 bytes", "2a 89 01 0a 81 01" + strings.Repeat("65", 129) + "12 03 0a01 78", "longer than 128"},
	{"json_data not JSON", "0a 08 0a01 67 1a03 2201 7b", "not valid JSON"},
	{"json_data null", "0a 0b 0a01 67 1a06 2204 6e756c6c", "null"},
	{"json_data too deep", "0a 87 01 0a01 67 1a 81 01 22 7f" + strings.Repeat("5b", 65) + strings.Repeat("5d", 62), "nested deeper"},
	{"group not UTF-8", "32 03 0a01 ff", "UTF-8"},
	{"text not UTF-8", "0a 08 0a01 67 1a03 0a01 ff", "UTF-8"},
	{"Any type_url not UTF-8", "0a 0a 0a01 67 1a05 1a03 0a01 ff", "UTF-8"},
	{"metadata key not UTF-8", "0a 0e 0a01 67 1a03 0a01 78 3204 0a01 ff 1200", "UTF-8"},
	{"discarded case still parsed", "32 03 0a01 ff 3a 03 0a01 62", "UTF-8"},
	{"truncated", "32 07 0a05 6772", "invalid protobuf field 6"},
	{"length past the end", "32 ff 01", "invalid protobuf field 6"},
	{"field number 0", "02 00", "invalid protobuf field tag"},
	{"field number above the maximum", "82 808080 10 00", "invalid protobuf field number"},
	{"end group without start", "0c", "invalid protobuf field 1"},
	{"reserved wire type", "0e", "invalid protobuf field 1"},
	{"varint overflow", "4a 00 10 ffffffffffffffffff02", "invalid protobuf field 2"},
}

func TestDecodeProtobufAccepted(t *testing.T) {
	for _, tc := range protobufAccepted {
		t.Run(tc.name, func(t *testing.T) {
			in := unhex(t, tc.hex)
			got, err := DecodeProtobuf(in)
			if err != nil {
				t.Fatal(err)
			}
			if !requestsEqual(got, tc.want) {
				t.Fatalf("DecodeProtobuf = %+v\nwant %+v", got, tc.want)
			}
			ref, _, err := decodeProtobufReference(in)
			if err != nil {
				t.Fatalf("the reference decoder refuses it: %v", err)
			}
			if !requestsEqual(ref, got) {
				t.Fatalf("reference = %+v\nours      %+v", ref, got)
			}
		})
	}
}

func TestDecodeProtobufRefused(t *testing.T) {
	for _, tc := range protobufRefused {
		t.Run(tc.name, func(t *testing.T) {
			in := unhex(t, tc.hex)
			r, err := DecodeProtobuf(in)
			if err == nil {
				t.Fatalf("accepted as %+v", r)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
			if _, _, err := decodeProtobufReference(in); err == nil {
				t.Fatal("the reference decoder accepts it")
			}
		})
	}
}

func TestDecodeProtobufMergesProtobufData(t *testing.T) {
	// Two protobuf_data occurrences, Any{type_url: "a", value: 01} then Any{value: 02}: proto merges them
	// into Any{type_url: "a", value: 02}, and so must the serialized Any that DecodeProtobuf returns.
	in := unhex(t, "0a 12 0a01 67 1a 0d 1a06 0a0161 120101 1a03 120102")
	got, err := DecodeProtobuf(in)
	if err != nil {
		t.Fatal(err)
	}
	_, refAny, err := decodeProtobufReference(in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Payload.Type != ProtobufData || !sameAny(t, got.Data, refAny) {
		t.Fatalf("got %v % x, reference %v", got.Payload.Type, got.Data, refAny)
	}
	if a := mustAny(t, got.Data); a.GetTypeUrl() != "a" || !bytes.Equal(a.GetValue(), []byte{2}) {
		t.Fatalf("merged Any = %v", a)
	}
	got.Data[0] = 0xee
	if in[7] == 0xee {
		t.Fatal("the merged data was written over the input")
	}
}

func TestDecodeProtobufAliasesInput(t *testing.T) {
	in := unhex(t, "0a 0e 0a01 67 10 01 1a 05 1203 010203 20 01")
	r, err := DecodeProtobuf(in)
	if err != nil {
		t.Fatal(err)
	}
	in[len(in)-5] = 9 // the first payload byte
	if r.Data[0] != 9 {
		t.Fatal("Data does not alias the input: a copy costs an allocation per message")
	}
}

func TestDecodeProtobufAllocations(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		max  float64
	}{
		{"sendToGroup: the group name", "0a 0e 0a01 67 10 01 1a 05 1203 010203 20 01", 1},
		{"event: the event name", "2a 0e 0a05 6576656e74 12 05 0a03 787a79", 1},
		{"json_data", "0a 10 0a01 67 1a 0b 2209 7b2261223a5b315d7d", 1},
		{"sequenceAck", "42 04 08 c0c407", 0},
		{"ping", "4a 00", 0},
	}
	for _, tc := range cases {
		in := unhex(t, tc.hex)
		if n := testing.AllocsPerRun(100, func() { _, _ = DecodeProtobuf(in) }); n > tc.max {
			t.Errorf("%s: %v allocations, want at most %v", tc.name, n, tc.max)
		}
	}
}

func TestAppendProtobufMessageMatchesGenerated(t *testing.T) {
	for _, tc := range messageCases {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendProtobufMessage(nil, &tc.m)
			var m pb.DownstreamMessage
			if err := proto.Unmarshal(got, &m); err != nil {
				t.Fatal(err)
			}
			checkDataMessage(t, m.GetDataMessage(), &tc.m)
			if m.GetDataMessage().SequenceId != nil {
				t.Fatal("a shared message carries a sequence_id")
			}
		})
	}
}

// checkDataMessage asserts that d is what m must look like to a protobuf client.
func checkDataMessage(t testing.TB, d *pb.DownstreamMessage_DataMessage, m *Message) {
	t.Helper()
	if d == nil {
		t.Fatal("not a data_message")
	}
	if m.From == FromGroup {
		if d.GetFrom() != "group" || d.Group == nil || d.GetGroup() != strings.ToValidUTF8(m.Group, "\uFFFD") {
			t.Fatalf("from %q group %v, want group %q", d.GetFrom(), d.Group, m.Group)
		}
	} else if d.GetFrom() != "server" || d.Group != nil {
		t.Fatalf("from %q group %v, want server without group", d.GetFrom(), d.Group)
	}
	switch m.Type {
	case Text, JSONData:
		want := strings.ToValidUTF8(string(m.Data), "\uFFFD")
		if x, ok := d.GetData().GetData().(*pb.MessageData_TextData); !ok || x.TextData != want {
			t.Fatalf("data %v, want text_data %q", d.GetData(), want)
		}
	case Binary:
		if x, ok := d.GetData().GetData().(*pb.MessageData_BinaryData); !ok || !bytes.Equal(x.BinaryData, m.Data) {
			t.Fatalf("data %v, want binary_data % x", d.GetData(), m.Data)
		}
	case ProtobufData:
		var a pb.MessageData // an Any parsed on its own, as the client's parser would
		if proto.Unmarshal(protowire.AppendBytes([]byte{0x1a}, m.Data), &a) != nil {
			if x, ok := d.GetData().GetData().(*pb.MessageData_BinaryData); !ok || !bytes.Equal(x.BinaryData, m.Data) {
				t.Fatalf("data %v, want an invalid Any as binary_data % x", d.GetData(), m.Data)
			}
			return
		}
		if x, ok := d.GetData().GetData().(*pb.MessageData_ProtobufData); !ok || !proto.Equal(x.ProtobufData, a.GetProtobufData()) {
			t.Fatalf("data %v, want protobuf_data %v", d.GetData(), a.GetProtobufData())
		}
	}
}

func TestAppendProtobufMessageEdgePayloads(t *testing.T) {
	cases := []struct {
		name string
		m    Message
	}{
		{"text not UTF-8 is repaired", Message{From: FromServer, Payload: Payload{Type: Text, Data: []byte("a\xffb")}}},
		{"JSON not UTF-8 is repaired", Message{From: FromServer, Payload: Payload{Type: JSONData, Data: []byte("\"\xff\"")}}},
		{"group not UTF-8 is repaired", Message{From: FromGroup, Group: "g\xff", Payload: Payload{Type: Binary, Data: []byte{1}}}},
		{"invalid Any goes as binary", Message{From: FromServer, Payload: Payload{Type: ProtobufData, Data: []byte{0xff}}}},
		{"Any with a non-UTF-8 type_url goes as binary", Message{From: FromServer, Payload: Payload{Type: ProtobufData, Data: []byte{0x0a, 0x01, 0xff}}}},
		{"empty Any", Message{From: FromServer, Payload: Payload{Type: ProtobufData}}},
		{"empty group name", Message{From: FromGroup, Payload: Payload{Type: Text}}},
		{"large binary", Message{From: FromServer, Payload: Payload{Type: Binary, Data: bytes.Repeat([]byte{7}, 70000)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m pb.DownstreamMessage
			if err := proto.Unmarshal(AppendProtobufMessage(nil, &tc.m), &m); err != nil {
				t.Fatalf("a protobuf client cannot read it: %v", err)
			}
			checkDataMessage(t, m.GetDataMessage(), &tc.m)
		})
	}
}

func TestProtobufSequenced(t *testing.T) {
	seqs := []uint64{1, 127, 128, 1 << 32, 1 << 63, math.MaxUint64}
	for _, tc := range messageCases {
		body := AppendProtobufMessage(nil, &tc.m)
		var shared pb.DownstreamMessage
		if err := proto.Unmarshal(body, &shared); err != nil {
			t.Fatal(err)
		}
		for _, seq := range seqs {
			head, from, tail := ProtobufSequenced(make([]byte, 0, 32), body, seq)
			if len(head)+len(tail) > 22 {
				t.Fatalf("head and tail are %d bytes", len(head)+len(tail))
			}
			frame := append(append(append([]byte(nil), head...), body[from:]...), tail...)
			var m pb.DownstreamMessage
			if err := proto.Unmarshal(frame, &m); err != nil {
				t.Fatalf("%s seq %d: %v", tc.name, seq, err)
			}
			if got := m.GetDataMessage().GetSequenceId(); got != seq || m.GetDataMessage().SequenceId == nil {
				t.Fatalf("%s: sequence_id = %d, want %d", tc.name, got, seq)
			}
			m.GetDataMessage().SequenceId = nil
			if !proto.Equal(&m, &shared) {
				t.Fatalf("%s seq %d: the sequenced message differs from the shared one:\n%v\n%v", tc.name, seq, &m, &shared)
			}
			tailCopy := bytes.Clone(tail)
			_ = append(head, 0xee) // a caller appending to head must not overwrite tail
			if !bytes.Equal(tail, tailCopy) {
				t.Fatal("head and tail overlap")
			}
		}
	}
}

func TestProtobufSequencedRefusesOtherMessages(t *testing.T) {
	for _, body := range [][]byte{nil, ProtobufPong, AppendProtobufAck(nil, 1, "", ""), {0x12, 0x05, 1}} {
		head, from, tail := ProtobufSequenced([]byte("x"), body, 5)
		if string(head) != "x" || from != 0 || tail != nil {
			t.Errorf("ProtobufSequenced(% x) = %q, %d, % x; want the body unchanged", body, head, from, tail)
		}
	}
}

func TestProtobufEncodersDoNotAllocate(t *testing.T) {
	dst := make([]byte, 0, 8192)
	body := AppendProtobufMessage(nil, &messageCases[0].m)
	encoders := map[string]func(){
		"ack":          func() { dst = AppendProtobufAck(dst[:0], 1<<40, "Forbidden", "No permission to join group g") },
		"connected":    func() { dst = AppendProtobufConnected(dst[:0], "conn-id", "user", true, "token") },
		"disconnected": func() { dst = AppendProtobufDisconnected(dst[:0], "bye") },
		"sequenced":    func() { _, _, _ = ProtobufSequenced(dst[:0], body, 1<<40) },
	}
	for _, tc := range messageCases {
		encoders["message "+tc.name] = func() { dst = AppendProtobufMessage(dst[:0], &tc.m) }
	}
	encoders["message protobuf"] = func() {
		dst = AppendProtobufMessage(dst[:0], &Message{Payload: Payload{Type: ProtobufData, Data: anyHello}})
	}
	for name, f := range encoders {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations with room in dst", name, n)
		}
	}
}

func TestAppendProtobufSystemMessagesRepairUTF8(t *testing.T) {
	var m pb.DownstreamMessage
	if err := proto.Unmarshal(AppendProtobufAck(nil, 1, "Bad\xff", "group \xfe"), &m); err != nil {
		t.Fatal(err)
	}
	if e := m.GetAckMessage().GetError(); e.GetName() != "Bad\uFFFD" || e.GetMessage() != "group \uFFFD" || m.GetAckMessage().GetSuccess() {
		t.Fatalf("ack = %v", &m)
	}
	if err := proto.Unmarshal(AppendProtobufDisconnected(nil, "\xff"), &m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetSystemMessage().GetDisconnectedMessage().GetReason(); got != "\uFFFD" {
		t.Fatalf("reason = %q", got)
	}
	if err := proto.Unmarshal(AppendProtobufConnected(nil, "c", "u\xff", true, ""), &m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetSystemMessage().GetConnectedMessage().GetUserId(); got != "u\uFFFD" {
		t.Fatalf("user_id = %q", got)
	}
}
