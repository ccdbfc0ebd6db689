package protocol

import (
	"bytes"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of UpstreamMessage (PROTOCOL.md §4.4, dataplane/protocol/webpubsub.proto).
const (
	upSendToGroup protowire.Number = 1
	upEvent       protowire.Number = 5
	upJoinGroup   protowire.Number = 6
	upLeaveGroup  protowire.Number = 7
	upSequenceAck protowire.Number = 8
	upPing        protowire.Number = 9
)

// Field numbers of MessageData.
const (
	dataText     protowire.Number = 1
	dataBinary   protowire.Number = 2
	dataProtobuf protowire.Number = 3
	dataJSON     protowire.Number = 4
)

// unsupportedUpstream names the UpstreamMessage cases of the official schema (Azure/azure-webpubsub
// protocols/protobuf.webpubsub.azure.v1/webpubsub.v1.proto) that kwps does not implement yet, so a
// client using one gets an error that says which.
var unsupportedUpstream = map[protowire.Number]string{
	10: "invoke_event_message",
	11: "cancel_invocation_message",
	13: "stream_data_message",
	14: "stream_end_message",
	15: "set_group_state_message",
	16: "subscribe_group_state_message",
	17: "unsubscribe_group_state_message",
}

// DecodeProtobuf decodes one protobuf.webpubsub.azure.v1 (or protobuf.reliable) client message, an
// UpstreamMessage. Every error wraps ErrMalformed and says what is wrong; validation is DecodeJSON's.
//
// It accepts the encodings that proto.Unmarshal of the generated UpstreamMessage accepts (fields in any
// order, repeated fields merged, unknown fields skipped, proto3 strings valid UTF-8) and gives them
// proto's meaning. It allocates only the group and event names (and the merge of a protobuf_data sent
// twice): payload Data aliases b. ack_id is read as a uint64 whatever width the client's schema declares
// (int32, int64 and uint64 are all varints). protobuf_data becomes a ProtobufData payload whose Data is
// the serialized google.protobuf.Any; json_data becomes JSONData and must be valid JSON; text_data is
// Text, even when a client (the C# one does) sends JSON that way. ttl_seconds, metadata and stream are
// checked but not used yet.
func DecodeProtobuf(b []byte) (Request, error) {
	var u upstream
	var lastUnknown protowire.Number
	for len(b) > 0 {
		num, typ, v, n, err := consumeField(b)
		if err != nil {
			return Request{}, err
		}
		b = b[n:]
		if typ != protowire.BytesType || !upstreamCase(num) {
			// Unknown to us (proto keeps it aside); remembered to name it if no case is set.
			lastUnknown = num
			continue
		}
		if num != u.num {
			u = upstream{num: num} // a later case replaces an earlier one; the same case merges
		}
		body, _ := protowire.ConsumeBytes(v)
		if err := u.merge(body); err != nil {
			return Request{}, err
		}
	}
	if u.num == 0 {
		if name, ok := unsupportedUpstream[lastUnknown]; ok {
			return Request{}, malformed("message %s (field %d) is not supported", name, lastUnknown)
		}
		if lastUnknown != 0 {
			return Request{}, malformed("unknown message field %d", lastUnknown)
		}
		return Request{}, malformed("the message is empty: no message case is set")
	}
	return u.request()
}

func upstreamCase(num protowire.Number) bool {
	switch num {
	case upSendToGroup, upEvent, upJoinGroup, upLeaveGroup, upSequenceAck, upPing:
		return true
	}
	return false
}

// upstream is an UpstreamMessage being decoded: the case set and its fields, as slices of the input
// until the request is validated, so that nothing is allocated for a message that is refused.
type upstream struct {
	num        protowire.Number // the case set
	group      []byte
	event      []byte
	ackID      uint64
	hasAckID   bool
	noEcho     bool
	sequenceID uint64
	data       protoData
	hasData    bool
}

// caseFields are the field numbers of a case message that kwps reads (0: the message has no such
// field); ttl_seconds (SendToGroupMessage 5) is skipped like an unknown field.
type caseFields struct {
	name, data, ackID, noEcho, metadata, stream protowire.Number
	nameIsGroup                                 bool // name is group (else event)
}

// fieldsOf returns the field numbers of a case message.
func fieldsOf(c protowire.Number) caseFields {
	switch c {
	case upSendToGroup:
		return caseFields{name: 1, ackID: 2, data: 3, noEcho: 4, metadata: 6, stream: 7, nameIsGroup: true}
	case upEvent:
		return caseFields{name: 1, data: 2, ackID: 3, metadata: 4, stream: 5}
	case upJoinGroup, upLeaveGroup:
		return caseFields{name: 1, ackID: 2, nameIsGroup: true}
	}
	return caseFields{}
}

// merge decodes one encoding of the case message into u; proto merges repeated occurrences of a message
// field, so later scalars replace earlier ones and the data merges.
func (u *upstream) merge(b []byte) error {
	f := fieldsOf(u.num)
	for len(b) > 0 {
		num, typ, v, n, err := consumeField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if typ == protowire.VarintType {
			x, _ := protowire.ConsumeVarint(v)
			switch {
			case u.num == upSequenceAck && num == 1:
				u.sequenceID = x
			case num == f.ackID:
				u.ackID, u.hasAckID = x, true
			case num == f.noEcho:
				u.noEcho = protowire.DecodeBool(x)
			}
			continue
		}
		if typ != protowire.BytesType {
			continue
		}
		val, _ := protowire.ConsumeBytes(v)
		switch num {
		case f.name:
			if !utf8.Valid(val) {
				if f.nameIsGroup {
					return malformed("'group' is not valid UTF-8")
				}
				return malformed("'event' is not valid UTF-8")
			}
			if f.nameIsGroup {
				u.group = val
			} else {
				u.event = val
			}
		case f.data:
			if err := u.data.merge(val); err != nil {
				return err
			}
			u.hasData = true
		case f.metadata: // a map<string,string> entry: checked as proto does, not used yet
			if err := checkFields(val, 1<<1|1<<2); err != nil {
				return err
			}
		case f.stream: // StreamStartInfo {string stream_id = 1; ...}: checked, not used yet
			if err := checkFields(val, 1<<1); err != nil {
				return err
			}
		}
		// Anything else (ttl_seconds, unknown fields, known numbers with another wire type) is skipped,
		// as proto keeps it aside as unknown.
	}
	return nil
}

// request validates u with DecodeJSON's rules and returns it as a Request.
func (u *upstream) request() (Request, error) {
	var r Request
	switch u.num {
	case upJoinGroup, upLeaveGroup, upSendToGroup:
		r.Type = groupRequestType(u.num)
		if len(u.group) == 0 {
			return Request{}, malformed("'group' is required for %s", r.Type)
		}
		if len(u.group) > MaxGroupNameLength {
			return Request{}, malformed("group name must be 1 to %d characters and not only whitespace", MaxGroupNameLength)
		}
		r.Group = string(u.group)
		if !ValidGroupName(r.Group) {
			return Request{}, malformed("group name must be 1 to %d characters and not only whitespace", MaxGroupNameLength)
		}
	case upEvent:
		r.Type = Event
		if len(u.event) == 0 {
			return Request{}, malformed("'event' is required for event")
		}
		if len(u.event) > MaxEventNameLength {
			return Request{}, malformed("event name is longer than %d characters", MaxEventNameLength)
		}
	case upSequenceAck:
		return Request{Type: SequenceAck, SequenceID: u.sequenceID}, nil
	case upPing:
		return Request{Type: Ping}, nil
	}
	r.AckID, r.HasAckID = u.ackID, u.hasAckID
	if r.Type == SendToGroup || r.Type == Event {
		if !u.hasData {
			return Request{}, malformed("'data' is required for %s", r.Type)
		}
		if err := u.data.payload(&r.Payload); err != nil {
			return Request{}, err
		}
	}
	r.NoEcho = u.noEcho && r.Type == SendToGroup
	r.Event = string(u.event)
	return r, nil
}

// groupRequestType is the request type of a case that names a group.
func groupRequestType(c protowire.Number) RequestType {
	switch c {
	case upLeaveGroup:
		return LeaveGroup
	case upSendToGroup:
		return SendToGroup
	}
	return JoinGroup
}

// protoData accumulates the MessageData encodings of one request, with proto's merge rules: the last
// case wins, a later scalar of the same case replaces the earlier one, and protobuf_data occurrences
// merge (proto merges messages by concatenating their encodings).
type protoData struct {
	num  protowire.Number // the case set, 0 for none
	data []byte           // aliases the input unless protobuf_data was merged
	// owned says data was allocated by a merge and may be appended to.
	owned bool
	// unknown is the last field number seen that is not a case of MessageData.
	unknown protowire.Number
}

func (d *protoData) merge(b []byte) error {
	for len(b) > 0 {
		num, typ, v, n, err := consumeField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if typ != protowire.BytesType || num < dataText || num > dataJSON {
			d.unknown = num
			continue
		}
		val, _ := protowire.ConsumeBytes(v)
		switch num {
		case dataText, dataJSON:
			if !utf8.Valid(val) {
				return malformed("'data' is not valid UTF-8")
			}
		case dataProtobuf:
			if err := checkFields(val, 1<<1); err != nil { // google.protobuf.Any: type_url = 1 is a string
				return err
			}
			if d.num == dataProtobuf {
				if !d.owned {
					d.data, d.owned = append(make([]byte, 0, len(d.data)+len(val)), d.data...), true
				}
				d.data = append(d.data, val...)
				continue
			}
		}
		d.num, d.data, d.owned = num, val, false
	}
	return nil
}

// payload turns the accumulated case into p.
func (d *protoData) payload(p *Payload) error {
	switch d.num {
	case dataText:
		p.Type, p.Data = Text, d.data
	case dataBinary:
		p.Type, p.Data = Binary, d.data
	case dataProtobuf:
		p.Type, p.Data = ProtobufData, d.data
	case dataJSON:
		if tooDeep, err := checkJSONValue(d.data); tooDeep {
			return err
		} else if err != nil {
			return malformed("json_data is not valid JSON")
		}
		if bytes.Equal(bytes.TrimSpace(d.data), []byte("null")) {
			return malformed("'data' must not be null")
		}
		p.Type, p.Data = JSONData, d.data
	default:
		if d.unknown != 0 {
			return malformed("'data' field %d is not supported (text_data, binary_data, protobuf_data or json_data)", d.unknown)
		}
		return malformed("'data' is empty: set text_data, binary_data, protobuf_data or json_data")
	}
	return nil
}

// consumeField reads one field with the checks proto.Unmarshal makes at message level: its number, wire
// type, encoded value (what follows the tag, which may be non-minimal) and total length.
func consumeField(b []byte) (num protowire.Number, typ protowire.Type, value []byte, n int, err error) {
	num, typ, t := protowire.ConsumeTag(b)
	if t < 0 {
		return 0, 0, nil, 0, malformed("invalid protobuf field tag")
	}
	if !num.IsValid() {
		return 0, 0, nil, 0, malformed("invalid protobuf field number %d", num)
	}
	m := protowire.ConsumeFieldValue(num, typ, b[t:])
	if m < 0 {
		return 0, 0, nil, 0, malformed("invalid protobuf field %d: %v", num, protowire.ParseError(m))
	}
	return num, typ, b[t : t+m], t + m, nil
}

// checkFields validates the encoding of a message that is not decoded further: the fields whose numbers
// are set in strings (bit n for field n, n < 64) are proto3 strings, so must be valid UTF-8 when encoded
// as bytes.
func checkFields(b []byte, strings uint64) error {
	for len(b) > 0 {
		num, typ, v, n, err := consumeField(b)
		if err != nil {
			return err
		}
		if typ == protowire.BytesType && num < 64 && strings&(1<<num) != 0 {
			if s, _ := protowire.ConsumeBytes(v); !utf8.Valid(s) {
				return malformed("string field %d is not valid UTF-8", num)
			}
		}
		b = b[n:]
	}
	return nil
}
