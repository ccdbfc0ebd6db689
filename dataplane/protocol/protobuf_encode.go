package protocol

import (
	"bytes"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// Tags (field number << 3 | wire type) of the messages the service sends. DownstreamMessage cases:
// ack_message 1, data_message 2, system_message 3, pong_message 4. The encoders write fields in number
// order and leave proto3 defaults out, so their output is byte for byte what proto.Marshal of the
// generated types produces.
const (
	tagAckMessage    = 1<<3 | byte(protowire.BytesType)
	tagDataMessage   = 2<<3 | byte(protowire.BytesType)
	tagSystemMessage = 3<<3 | byte(protowire.BytesType)
	tagPongMessage   = 4<<3 | byte(protowire.BytesType)

	// DataMessage.sequence_id = 4, a varint: the per-connection tail of a reliable data message.
	tagSequenceID = 4<<3 | byte(protowire.VarintType)
)

// ProtobufPong is the encoded DownstreamMessage with an empty pong_message, the answer to ping_message.
var ProtobufPong = []byte{tagPongMessage, 0}

// AppendProtobufAck appends a DownstreamMessage with an ack_message. errName is empty for success;
// otherwise success is false and error carries errName and errMessage.
func AppendProtobufAck(dst []byte, ackID uint64, errName, errMessage string) []byte {
	errName, errMessage = validUTF8(errName), validUTF8(errMessage)
	errLen := sizeString(errName) + sizeString(errMessage)
	n := 0
	if ackID != 0 {
		n += 1 + protowire.SizeVarint(ackID) // ack_id = 1
	}
	if errName == "" {
		n += 2 // success = 2: true
	} else {
		n += 1 + protowire.SizeBytes(errLen) // error = 3 (success false is the default, left out)
	}
	dst = slices.Grow(dst, 1+protowire.SizeBytes(n))
	dst = append(dst, tagAckMessage)
	dst = protowire.AppendVarint(dst, uint64(n))
	if ackID != 0 {
		dst = append(dst, 1<<3|byte(protowire.VarintType))
		dst = protowire.AppendVarint(dst, ackID)
	}
	if errName == "" {
		return append(dst, 2<<3|byte(protowire.VarintType), 1)
	}
	dst = append(dst, 3<<3|byte(protowire.BytesType))
	dst = protowire.AppendVarint(dst, uint64(errLen))
	dst = appendString(dst, 1, errName) // ErrorMessage.name = 1
	return appendString(dst, 2, errMessage)
}

// AppendProtobufConnected appends a DownstreamMessage with a system_message carrying connected_message.
// user_id is left empty when hasUser is false (proto3 has no null); the reconnection token is included
// only when not empty (reliable protocols).
func AppendProtobufConnected(dst []byte, connectionID, userID string, hasUser bool, reconnectionToken string) []byte {
	if !hasUser {
		userID = ""
	}
	connectionID, userID, reconnectionToken = validUTF8(connectionID), validUTF8(userID), validUTF8(reconnectionToken)
	connected := sizeString(connectionID) + sizeString(userID) + sizeString(reconnectionToken)
	system := 1 + protowire.SizeBytes(connected) // SystemMessage.connected_message = 1
	dst = slices.Grow(dst, 1+protowire.SizeBytes(system))
	dst = append(dst, tagSystemMessage)
	dst = protowire.AppendVarint(dst, uint64(system))
	dst = append(dst, 1<<3|byte(protowire.BytesType))
	dst = protowire.AppendVarint(dst, uint64(connected))
	dst = appendString(dst, 1, connectionID)
	dst = appendString(dst, 2, userID)
	return appendString(dst, 3, reconnectionToken)
}

// AppendProtobufDisconnected appends a DownstreamMessage with a system_message carrying
// disconnected_message, whose reason is field 2.
func AppendProtobufDisconnected(dst []byte, reason string) []byte {
	reason = validUTF8(reason)
	disconnected := sizeString(reason)              // DisconnectedMessage.reason = 2
	system := 1 + protowire.SizeBytes(disconnected) // SystemMessage.disconnected_message = 2
	dst = slices.Grow(dst, 1+protowire.SizeBytes(system))
	dst = append(dst, tagSystemMessage)
	dst = protowire.AppendVarint(dst, uint64(system))
	dst = append(dst, 2<<3|byte(protowire.BytesType))
	dst = protowire.AppendVarint(dst, uint64(disconnected))
	return appendString(dst, 2, reason)
}

// AppendProtobufMessage appends a DownstreamMessage with a data_message and no sequence_id: the bytes
// shared by every protobuf recipient of m; ProtobufSequenced turns them into a reliable recipient's
// message. from is "group" (with group) or "server"; protobuf has no fromUserId.
//
// Payloads map as PROTOCOL.md §4.4 and DESIGN.md decision 1 say: Text and JSONData go as text_data (JSON
// as its text), Binary as binary_data, ProtobufData as protobuf_data with the serialized Any spliced in
// as it is. Text that is not valid UTF-8 has its bad bytes replaced by U+FFFD, as the JSON encoder does,
// because proto3 clients refuse such strings; ProtobufData that is not a valid Any encoding goes as
// binary_data, so that one bad payload from a JSON or REST sender cannot make the frame unreadable for
// every protobuf recipient. It does not allocate when dst has room and the payload is valid.
func AppendProtobufMessage(dst []byte, m *Message) []byte {
	data := m.Data
	field := byte(1<<3 | protowire.BytesType) // MessageData.text_data = 1
	switch m.Type {
	case Text, JSONData:
		if !utf8.Valid(data) {
			data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
		}
	case ProtobufData:
		field = 3<<3 | byte(protowire.BytesType) // protobuf_data = 3
		if checkFields(data, 1<<1) != nil {
			field = 2<<3 | byte(protowire.BytesType) // binary_data = 2
		}
	default:
		field = 2<<3 | byte(protowire.BytesType)
	}
	messageData := 1 + protowire.SizeBytes(len(data))
	from, group := "server", ""
	if m.From == FromGroup {
		from, group = "group", validUTF8(m.Group)
	}
	n := 1 + protowire.SizeBytes(len(from)) + 1 + protowire.SizeBytes(messageData) // from = 1, data = 3
	if m.From == FromGroup {
		n += 1 + protowire.SizeBytes(len(group)) // group = 2: optional, so present even when empty
	}
	dst = slices.Grow(dst, 1+protowire.SizeBytes(n))
	dst = append(dst, tagDataMessage)
	dst = protowire.AppendVarint(dst, uint64(n))
	dst = appendStringField(dst, 1, from)
	if m.From == FromGroup {
		dst = appendStringField(dst, 2, group)
	}
	dst = append(dst, 3<<3|byte(protowire.BytesType))
	dst = protowire.AppendVarint(dst, uint64(messageData))
	dst = append(dst, field)
	dst = protowire.AppendVarint(dst, uint64(len(data)))
	return append(dst, data...)
}

// ProtobufSequenced returns what a reliable recipient gets for body, the output of AppendProtobufMessage:
// head + body[from:] + tail is body's DownstreamMessage with data_message.sequence_id = seq. head is a new
// data_message tag and length appended to dst; from skips body's own; tail is the sequence_id field,
// which may come after the shared fields because proto reads fields in any order. head and tail share
// dst's array (22 bytes at most) without overlapping. A body that is not a data message is returned whole
// (head is dst, from 0, tail nil): the recipient then gets it without a sequence_id.
func ProtobufSequenced(dst []byte, body []byte, seq uint64) (head []byte, from int, tail []byte) {
	if len(body) < 2 || body[0] != tagDataMessage {
		return dst, 0, nil
	}
	n, m := protowire.ConsumeVarint(body[1:])
	if m < 0 || n != uint64(len(body)-1-m) {
		return dst, 0, nil
	}
	from = 1 + m
	n += uint64(1 + protowire.SizeVarint(seq))
	dst = slices.Grow(dst, 2+protowire.SizeVarint(n)+protowire.SizeVarint(seq))
	dst = append(dst, tagDataMessage)
	dst = protowire.AppendVarint(dst, n)
	h := len(dst)
	dst = append(dst, tagSequenceID)
	dst = protowire.AppendVarint(dst, seq)
	return dst[:h:h], from, dst[h:]
}

// sizeString is the encoded size of a proto3 string field numbered below 16, 0 when s is empty (the
// default is left out).
func sizeString(s string) int {
	if s == "" {
		return 0
	}
	return 1 + protowire.SizeBytes(len(s))
}

// appendString appends a proto3 string field numbered below 16 unless s is empty.
func appendString(dst []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return dst
	}
	return appendStringField(dst, num, s)
}

// appendStringField appends a length-delimited field numbered below 16, empty or not.
func appendStringField(dst []byte, num protowire.Number, s string) []byte {
	dst = append(dst, byte(num)<<3|byte(protowire.BytesType))
	dst = protowire.AppendVarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// validUTF8 replaces invalid UTF-8 in s with U+FFFD, allocating only then: proto3 strings must be UTF-8.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
