// Package protocol holds the client subprotocol codecs of Azure Web PubSub: the simple ("raw")
// WebSocket mapping and json.webpubsub.azure.v1 (json.reliable, protobuf and protobuf.reliable build on
// the same types). Decoders are bounded and never panic on network input; encoders append to
// caller-owned buffers so a message is encoded once per subprotocol and the bytes are shared by every
// recipient.
package protocol

import "strings"

// Kind is a client protocol: a connection speaks exactly one for its lifetime.
type Kind uint8

// The client protocols. Raw is a simple WebSocket client (no or a custom subprotocol).
const (
	Raw Kind = iota
	JSON
	JSONReliable
	Protobuf
	ProtobufReliable
	// NumKinds is the number of kinds, for per-kind arrays.
	NumKinds
)

// Subprotocol names (Sec-WebSocket-Protocol).
const (
	JSONName             = "json.webpubsub.azure.v1"
	JSONReliableName     = "json.reliable.webpubsub.azure.v1"
	ProtobufName         = "protobuf.webpubsub.azure.v1"
	ProtobufReliableName = "protobuf.reliable.webpubsub.azure.v1"
)

// Name returns the subprotocol name of k ("" for Raw).
func (k Kind) Name() string {
	switch k {
	case JSON:
		return JSONName
	case JSONReliable:
		return JSONReliableName
	case Protobuf:
		return ProtobufName
	case ProtobufReliable:
		return ProtobufReliableName
	}
	return ""
}

// Reliable reports whether k numbers data messages and supports recovery.
func (k Kind) Reliable() bool { return k == JSONReliable || k == ProtobufReliable }

// Binary reports whether k frames are binary (protobuf) rather than text (JSON).
func (k Kind) Binary() bool { return k == Protobuf || k == ProtobufReliable }

// KindOf returns the predefined protocol named by a subprotocol (case-insensitive); ok is false for
// anything else, which makes the client a raw client.
func KindOf(subprotocol string) (k Kind, ok bool) {
	switch strings.ToLower(strings.TrimSpace(subprotocol)) {
	case JSONName:
		return JSON, true
	case JSONReliableName:
		return JSONReliable, true
	case ProtobufName:
		return Protobuf, true
	case ProtobufReliableName:
		return ProtobufReliable, true
	}
	return Raw, false
}

// DataType is the type of a message payload.
type DataType uint8

// Payload types. JSON is the default of the JSON protocol when dataType is omitted.
const (
	Text DataType = iota
	JSONData
	Binary
	ProtobufData
)

// String returns the JSON protocol's dataType value.
func (d DataType) String() string {
	switch d {
	case Text:
		return "text"
	case JSONData:
		return "json"
	case Binary:
		return "binary"
	case ProtobufData:
		return "protobuf"
	}
	return "unknown"
}

// ContentType is the HTTP content type of a payload of this type (REST bodies, upstream events).
func (d DataType) ContentType() string {
	switch d {
	case Text:
		return "text/plain"
	case JSONData:
		return "application/json"
	case ProtobufData:
		return "application/x-protobuf"
	}
	return "application/octet-stream"
}

// DataTypeOf maps an HTTP content type (parameters ignored, case-insensitive) to a payload type.
// ok is false for anything but text/plain, application/json, application/octet-stream and
// application/x-protobuf.
func DataTypeOf(contentType string) (d DataType, ok bool) {
	ct := contentType
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case "text/plain":
		return Text, true
	case "application/json", "text/json":
		return JSONData, true
	case "application/octet-stream":
		return Binary, true
	case "application/x-protobuf":
		return ProtobufData, true
	}
	return Binary, false
}

// Payload is message data with its type. For JSONData, Data is the JSON text; for Text, UTF-8 text; for
// Binary, raw bytes; for ProtobufData, the serialized google.protobuf.Any.
type Payload struct {
	Type DataType
	Data []byte
}

// Source says where a data message comes from.
type Source uint8

// Sources of data messages.
const (
	FromServer Source = iota
	FromGroup
)

// Message is a data message for clients: from the server (REST, upstream reply) or from a group.
type Message struct {
	From  Source
	Group string // FromGroup only
	// FromUserID is the sending client's user (group messages sent by a client); HasFromUserID is false
	// for REST-originated messages and anonymous senders.
	FromUserID    string
	HasFromUserID bool
	Payload
}
