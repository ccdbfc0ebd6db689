package protocol

import (
	"errors"
	"fmt"
)

// RequestType is the type of a client-to-service message of a subprotocol client.
type RequestType uint8

// Client request types.
const (
	JoinGroup RequestType = iota + 1
	LeaveGroup
	SendToGroup
	Event
	SequenceAck
	Ping
)

// String returns the JSON protocol's type name.
func (t RequestType) String() string {
	switch t {
	case JoinGroup:
		return "joinGroup"
	case LeaveGroup:
		return "leaveGroup"
	case SendToGroup:
		return "sendToGroup"
	case Event:
		return "event"
	case SequenceAck:
		return "sequenceAck"
	case Ping:
		return "ping"
	}
	return "unknown"
}

// Request is a decoded client message. Data aliases the decoder's input where possible: it is valid
// only as long as the frame buffer it was decoded from.
type Request struct {
	Type       RequestType
	Group      string // JoinGroup, LeaveGroup, SendToGroup
	Event      string // Event
	AckID      uint64
	HasAckID   bool
	NoEcho     bool // SendToGroup
	SequenceID uint64
	Payload    // SendToGroup, Event
}

// Limits of client messages.
const (
	// MaxGroupNameLength is the longest group name the REST API allows (2024-12-01 swagger).
	MaxGroupNameLength = 1024
	// MaxEventNameLength bounds user event names.
	MaxEventNameLength = 128
	// MaxJSONDepth bounds the nesting of a JSON message, payload included.
	MaxJSONDepth = 64
)

// ErrMalformed is wrapped by every decoding error: the message is not a valid protocol message.
var ErrMalformed = errors.New("the client message is not a valid protocol message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// ValidGroupName reports whether g is an acceptable group name: 1-1024 characters, not all whitespace.
func ValidGroupName(g string) bool {
	if len(g) == 0 || len(g) > MaxGroupNameLength {
		return false
	}
	for i := 0; i < len(g); i++ {
		switch g[i] {
		case ' ', '\t', '\n', '\r', '\v', '\f':
		default:
			return true
		}
	}
	return false
}
