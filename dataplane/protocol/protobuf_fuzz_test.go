package protocol

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/kwps/kwps/dataplane/protocol/pb"
)

// FuzzDecodeProtobuf checks DecodeProtobuf against the reference (proto.Unmarshal of the generated types
// plus the same validation): it never panics, accepts exactly what the reference accepts, decodes it to
// the same request, and what it accepts re-encodes (as a client would) to the same request.
func FuzzDecodeProtobuf(f *testing.F) {
	for _, tc := range upstreamGoldens() {
		f.Add(unhex(f, tc.hex))
	}
	for _, tc := range protobufAccepted {
		f.Add(unhex(f, tc.hex))
	}
	for _, tc := range protobufRefused {
		f.Add(unhex(f, tc.hex))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeProtobuf(b)
		ref, refAny, refErr := decodeProtobufReference(b)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("DecodeProtobuf(% x): error %v, reference error %v", b, err, refErr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if r.Payload.Type == ProtobufData {
			if ref.Payload.Type != ProtobufData || !sameAny(t, r.Data, refAny) {
				t.Fatalf("DecodeProtobuf(% x): payload % x, reference %v", b, r.Data, refAny)
			}
			r2 := r
			r2.Data, ref.Data = nil, nil
			if !requestsEqual(r2, ref) {
				t.Fatalf("DecodeProtobuf(% x) = %+v\nreference %+v", b, r2, ref)
			}
		} else if !requestsEqual(r, ref) {
			t.Fatalf("DecodeProtobuf(% x) = %+v\nreference %+v", b, r, ref)
		}
		again, err := DecodeProtobuf(upstreamFromRequest(t, r))
		if err != nil {
			t.Fatalf("the re-encoded %+v is refused: %v", r, err)
		}
		if !sameRequest(t, again, r) {
			t.Fatalf("re-encoded %+v\ndecodes to %+v", r, again)
		}
	})
}

// FuzzProtobufEncoders checks the downstream encoders against proto.Unmarshal of the generated types:
// whatever they are given, a protobuf client can parse the result and reads back what was encoded
// (strings with invalid UTF-8 repaired), and a reliable recipient's frame carries the sequence_id.
func FuzzProtobufEncoders(f *testing.F) {
	f.Add(uint8(0), "g", []byte("hello"), uint64(1), "", "", "u", uint64(1))
	f.Add(uint8(5), "room", []byte(`{"a":1}`), uint64(1<<40), "Forbidden", "No permission", "", uint64(128))
	f.Add(uint8(6), "", []byte{0, 1, 2}, uint64(0), "Duplicate", "", "\xff", uint64(1<<63))
	f.Add(uint8(3), "g\xff", anyHello, uint64(127), "", "x", "user", uint64(1<<32))
	f.Add(uint8(7), "g", []byte{0x0a, 0x01, 0xff}, uint64(2), "e", "m", "u", uint64(0))
	f.Fuzz(func(t *testing.T, kind uint8, group string, data []byte, id uint64, errName, errMessage, user string, seq uint64) {
		m := Message{Group: group, Payload: Payload{Type: DataType(kind % 4), Data: data}}
		if kind&4 != 0 {
			m.From = FromGroup
		}
		prefix := []byte{0xee}
		body := AppendProtobufMessage(prefix, &m)[1:]
		var dm pb.DownstreamMessage
		if err := proto.Unmarshal(body, &dm); err != nil {
			t.Fatalf("message %+v: a client cannot parse % x: %v", m, body, err)
		}
		checkDataMessage(t, dm.GetDataMessage(), &m)

		head, from, tail := ProtobufSequenced(nil, body, seq)
		frame := append(append(append([]byte(nil), head...), body[from:]...), tail...)
		var sm pb.DownstreamMessage
		if err := proto.Unmarshal(frame, &sm); err != nil {
			t.Fatalf("sequenced % x: %v", frame, err)
		}
		if sm.GetDataMessage().SequenceId == nil || sm.GetDataMessage().GetSequenceId() != seq {
			t.Fatalf("sequence_id %v, want %d", sm.GetDataMessage().SequenceId, seq)
		}
		sm.GetDataMessage().SequenceId = nil
		if !proto.Equal(&sm, &dm) {
			t.Fatalf("sequenced %v\nshared %v", &sm, &dm)
		}

		var am pb.DownstreamMessage
		if err := proto.Unmarshal(AppendProtobufAck(nil, id, errName, errMessage), &am); err != nil {
			t.Fatalf("ack: %v", err)
		}
		ack := am.GetAckMessage()
		if ack == nil || ack.GetAckId() != id || ack.GetSuccess() != (errName == "") {
			t.Fatalf("ack(%d, %q) = %v", id, errName, &am)
		}
		if errName != "" && (ack.GetError().GetName() != validUTF8(errName) || ack.GetError().GetMessage() != validUTF8(errMessage)) {
			t.Fatalf("ack error = %v", ack.GetError())
		}

		var cm pb.DownstreamMessage
		if err := proto.Unmarshal(AppendProtobufConnected(nil, group, user, kind&1 != 0, errMessage), &cm); err != nil {
			t.Fatalf("connected: %v", err)
		}
		c := cm.GetSystemMessage().GetConnectedMessage()
		wantUser := ""
		if kind&1 != 0 {
			wantUser = validUTF8(user)
		}
		if c == nil || c.GetConnectionId() != validUTF8(group) || c.GetUserId() != wantUser || c.GetReconnectionToken() != validUTF8(errMessage) {
			t.Fatalf("connected = %v", &cm)
		}

		var xm pb.DownstreamMessage
		if err := proto.Unmarshal(AppendProtobufDisconnected(nil, errMessage), &xm); err != nil {
			t.Fatalf("disconnected: %v", err)
		}
		if d := xm.GetSystemMessage().GetDisconnectedMessage(); d == nil || d.GetReason() != validUTF8(errMessage) {
			t.Fatalf("disconnected = %v", &xm)
		}
	})
}
