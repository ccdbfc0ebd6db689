package gateway

import (
	"github.com/gobwas/ws"

	"github.com/kwps/kwps/dataplane/protocol"
)

// codec is how one subprotocol encodes what the service sends and decodes what clients send.
type codec struct {
	op           ws.OpCode
	decode       func([]byte) (protocol.Request, error)
	ack          func(dst []byte, ackID uint64, errName, errMessage string) []byte
	connected    func(dst []byte, connectionID, userID string, hasUser bool, reconnectionToken string) []byte
	disconnected func(dst []byte, reason string) []byte
	pong         []byte
	// message encodes a data message once; every recipient of this kind shares the bytes.
	message func(dst []byte, m *protocol.Message) []byte
	// sequenced returns what a reliable recipient gets around the shared body: a per-connection head,
	// the offset into body where the shared part starts, and a per-connection tail.
	sequenced func(dst []byte, body []byte, seq uint64) (head []byte, from int, tail []byte)
}

var jsonCodec = &codec{
	op:           ws.OpText,
	decode:       protocol.DecodeJSON,
	ack:          protocol.AppendJSONAck,
	connected:    protocol.AppendJSONConnected,
	disconnected: protocol.AppendJSONDisconnected,
	pong:         protocol.JSONPong,
	message:      protocol.AppendJSONMessage,
	sequenced: func(dst []byte, _ []byte, seq uint64) ([]byte, int, []byte) {
		return protocol.JSONSequencedPrefix(dst, seq), 1, nil
	},
}

var protobufCodec = &codec{
	op:           ws.OpBinary,
	decode:       protocol.DecodeProtobuf,
	ack:          protocol.AppendProtobufAck,
	connected:    protocol.AppendProtobufConnected,
	disconnected: protocol.AppendProtobufDisconnected,
	pong:         protocol.ProtobufPong,
	message:      protocol.AppendProtobufMessage,
	sequenced:    protocol.ProtobufSequenced,
}

// codecs by kind; nil for Raw, which has no envelope.
var codecs = [protocol.NumKinds]*codec{
	protocol.JSON:             jsonCodec,
	protocol.JSONReliable:     jsonCodec,
	protocol.Protobuf:         protobufCodec,
	protocol.ProtobufReliable: protobufCodec,
}

// supported reports whether the gateway speaks kind.
func supported(kind protocol.Kind) bool { return kind == protocol.Raw || codecs[kind] != nil }

// systemFrame frames an encoded service message (ack, system, pong) for kind.
func systemFrame(kind protocol.Kind, payload []byte) []byte {
	return newFrame(codecs[kind].op, payload)
}
