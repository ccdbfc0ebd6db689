package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/kwps/kwps/dataplane/protocol/pb"
)

// errReference is what the reference decoder returns for a message it refuses.
var errReference = errors.New("refused by the reference decoder")

// decodeProtobufReference is the specification DecodeProtobuf is tested against: proto.Unmarshal of the
// generated UpstreamMessage, then DecodeJSON's validation rules. It returns the protobuf_data payload as
// the parsed Any, since DecodeProtobuf keeps the input's bytes of it, which need not be canonical.
func decodeProtobufReference(b []byte) (Request, *anypb.Any, error) {
	var m pb.UpstreamMessage
	if err := proto.Unmarshal(b, &m); err != nil {
		return Request{}, nil, err
	}
	var r Request
	var group, event string
	var data *pb.MessageData
	switch c := m.GetMessage().(type) {
	case *pb.UpstreamMessage_JoinGroupMessage_:
		r.Type, group = JoinGroup, c.JoinGroupMessage.GetGroup()
		r.AckID, r.HasAckID = c.JoinGroupMessage.GetAckId(), c.JoinGroupMessage.AckId != nil
	case *pb.UpstreamMessage_LeaveGroupMessage_:
		r.Type, group = LeaveGroup, c.LeaveGroupMessage.GetGroup()
		r.AckID, r.HasAckID = c.LeaveGroupMessage.GetAckId(), c.LeaveGroupMessage.AckId != nil
	case *pb.UpstreamMessage_SendToGroupMessage_:
		s := c.SendToGroupMessage
		r.Type, group, data = SendToGroup, s.GetGroup(), s.GetData()
		r.AckID, r.HasAckID, r.NoEcho = s.GetAckId(), s.AckId != nil, s.GetNoEcho()
	case *pb.UpstreamMessage_EventMessage_:
		e := c.EventMessage
		r.Type, event, data = Event, e.GetEvent(), e.GetData()
		r.AckID, r.HasAckID = e.GetAckId(), e.AckId != nil
	case *pb.UpstreamMessage_SequenceAckMessage_:
		return Request{Type: SequenceAck, SequenceID: c.SequenceAckMessage.GetSequenceId()}, nil, nil
	case *pb.UpstreamMessage_PingMessage_:
		return Request{Type: Ping}, nil, nil
	default:
		return Request{}, nil, errReference
	}
	if r.Type != Event && !ValidGroupName(group) {
		return Request{}, nil, errReference
	}
	if r.Type == Event && (event == "" || len(event) > MaxEventNameLength) {
		return Request{}, nil, errReference
	}
	r.Group, r.Event = group, event
	if r.Type != SendToGroup && r.Type != Event {
		return r, nil, nil
	}
	if data == nil {
		return Request{}, nil, errReference
	}
	var a *anypb.Any
	switch d := data.GetData().(type) {
	case *pb.MessageData_TextData:
		r.Payload = Payload{Type: Text, Data: []byte(d.TextData)}
	case *pb.MessageData_BinaryData:
		r.Payload = Payload{Type: Binary, Data: d.BinaryData}
	case *pb.MessageData_ProtobufData:
		r.Payload.Type, a = ProtobufData, d.ProtobufData
	case *pb.MessageData_JsonData:
		j := []byte(d.JsonData)
		if checkJSONDepthRef(j, MaxJSONDepth) != nil || !json.Valid(j) || bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
			return Request{}, nil, errReference
		}
		r.Payload = Payload{Type: JSONData, Data: j}
	default:
		return Request{}, nil, errReference
	}
	return r, a, nil
}

// upstreamFromRequest encodes a request the way a client would, with the generated types.
func upstreamFromRequest(t testing.TB, r Request) []byte {
	t.Helper()
	var ack *uint64
	if r.HasAckID {
		ack = proto.Uint64(r.AckID)
	}
	var data *pb.MessageData
	switch r.Payload.Type {
	case Text:
		data = &pb.MessageData{Data: &pb.MessageData_TextData{TextData: string(r.Data)}}
	case Binary:
		data = &pb.MessageData{Data: &pb.MessageData_BinaryData{BinaryData: r.Data}}
	case JSONData:
		data = &pb.MessageData{Data: &pb.MessageData_JsonData{JsonData: string(r.Data)}}
	case ProtobufData:
		a := &anypb.Any{}
		if err := proto.Unmarshal(r.Data, a); err != nil {
			t.Fatalf("ProtobufData is not an Any: %v", err)
		}
		data = &pb.MessageData{Data: &pb.MessageData_ProtobufData{ProtobufData: a}}
	}
	var m pb.UpstreamMessage
	switch r.Type {
	case JoinGroup:
		m.Message = &pb.UpstreamMessage_JoinGroupMessage_{JoinGroupMessage: &pb.UpstreamMessage_JoinGroupMessage{Group: r.Group, AckId: ack}}
	case LeaveGroup:
		m.Message = &pb.UpstreamMessage_LeaveGroupMessage_{LeaveGroupMessage: &pb.UpstreamMessage_LeaveGroupMessage{Group: r.Group, AckId: ack}}
	case SendToGroup:
		m.Message = &pb.UpstreamMessage_SendToGroupMessage_{SendToGroupMessage: &pb.UpstreamMessage_SendToGroupMessage{
			Group: r.Group, AckId: ack, Data: data, NoEcho: proto.Bool(r.NoEcho)}}
	case Event:
		m.Message = &pb.UpstreamMessage_EventMessage_{EventMessage: &pb.UpstreamMessage_EventMessage{Event: r.Event, AckId: ack, Data: data}}
	case SequenceAck:
		m.Message = &pb.UpstreamMessage_SequenceAckMessage_{SequenceAckMessage: &pb.UpstreamMessage_SequenceAckMessage{SequenceId: r.SequenceID}}
	case Ping:
		m.Message = &pb.UpstreamMessage_PingMessage_{PingMessage: &pb.UpstreamMessage_PingMessage{}}
	}
	b, err := proto.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameRequest compares two decodings of the same message; a ProtobufData payload by its meaning.
func sameRequest(t testing.TB, got, want Request) bool {
	t.Helper()
	if got.Payload.Type != ProtobufData || want.Payload.Type != ProtobufData {
		return requestsEqual(got, want)
	}
	g, w := got, want
	g.Data, w.Data = nil, nil
	return requestsEqual(g, w) && sameAny(t, got.Data, mustAny(t, want.Data))
}

// sameAny reports whether the serialized Any b means a.
func sameAny(t testing.TB, b []byte, a *anypb.Any) bool {
	t.Helper()
	return proto.Equal(mustAny(t, b), a)
}

func mustAny(t testing.TB, b []byte) *anypb.Any {
	t.Helper()
	a := &anypb.Any{}
	if err := proto.Unmarshal(b, a); err != nil {
		t.Fatalf("not a serialized Any (% x): %v", b, err)
	}
	return a
}
