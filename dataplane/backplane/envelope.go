package backplane

import (
	"encoding/binary"
	"errors"
)

// kind says what an envelope carries.
type kind byte

const (
	kindMessage kind = iota + 1 // Send or Publish: no reply expected
	kindRequest                 // Request: the receivers reply to replyTo
	kindReply                   // the answer to a request, on the requester's own channel
)

// envelopeVersion is the first byte of every envelope; a process drops versions it does not know, so
// a rolling upgrade that changes the layout loses messages instead of misreading them.
const envelopeVersion = 1

// Bounds of the envelope's header fields (payloads are bounded by RedisOptions.MaxMessageBytes).
const (
	maxIDLen      = 128
	maxReplyToLen = 512
)

// envelope wraps a payload on the Redis transport:
//
//	version(1) kind(1) uvarint(len origin) origin
//	[request, reply: uvarint requestID] [request: uvarint(len replyTo) replyTo] payload...
type envelope struct {
	kind      kind
	origin    string // the publishing process's ID
	requestID uint64
	replyTo   string // the Redis channel that takes the replies
	payload   []byte // encoding: what the sender passed
	body      string // decoding: the payload, a substring of the received message
}

var errEnvelope = errors.New("backplane: malformed envelope")

// appendEnvelope appends e's encoding to dst.
func appendEnvelope(dst []byte, e *envelope) []byte {
	dst = append(dst, envelopeVersion, byte(e.kind))
	dst = binary.AppendUvarint(dst, uint64(len(e.origin)))
	dst = append(dst, e.origin...)
	if e.kind == kindRequest || e.kind == kindReply {
		dst = binary.AppendUvarint(dst, e.requestID)
	}
	if e.kind == kindRequest {
		dst = binary.AppendUvarint(dst, uint64(len(e.replyTo)))
		dst = append(dst, e.replyTo...)
	}
	return append(dst, e.payload...)
}

// envelopeSize is the encoded size of e, for one allocation per message.
func envelopeSize(e *envelope) int {
	return 2 + 2*binary.MaxVarintLen64 + len(e.origin) + len(e.replyTo) + len(e.payload)
}

// decodeEnvelope parses s, as go-redis delivers it. origin, replyTo and body are substrings of s, so
// that a message this process drops (its own, say) costs no copy.
func decodeEnvelope(s string) (envelope, error) {
	var e envelope
	if len(s) < 3 || s[0] != envelopeVersion {
		return e, errEnvelope
	}
	e.kind = kind(s[1])
	if e.kind < kindMessage || e.kind > kindReply {
		return e, errEnvelope
	}
	s = s[2:]
	var ok bool
	if e.origin, s, ok = readString(s, maxIDLen); !ok || e.origin == "" {
		return e, errEnvelope
	}
	if e.kind == kindRequest || e.kind == kindReply {
		if e.requestID, s, ok = readUvarint(s); !ok {
			return e, errEnvelope
		}
	}
	if e.kind == kindRequest {
		if e.replyTo, s, ok = readString(s, maxReplyToLen); !ok {
			return e, errEnvelope
		}
	}
	e.body = s
	return e, nil
}

func readUvarint(s string) (uint64, string, bool) {
	var v uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[i]
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				return 0, s, false // overflows 64 bits
			}
			return v | uint64(b)<<(7*i), s[i+1:], true
		}
		v |= uint64(b&0x7f) << (7 * i)
	}
	return 0, s, false
}

// readString reads a length-prefixed string of at most limit bytes.
func readString(s string, limit int) (string, string, bool) {
	n, s, ok := readUvarint(s)
	if !ok || n > uint64(limit) || n > uint64(len(s)) {
		return "", s, false
	}
	return s[:n], s[n:], true
}
