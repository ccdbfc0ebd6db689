package protocol

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// Precompiled service messages of the JSON protocol.
var (
	JSONPong = []byte(`{"type":"pong"}`)
)

// AppendJSONMessage appends a data message without a sequenceId; see AppendJSONSequenced for the
// reliable form. The result is shared by every JSON recipient of the message.
func AppendJSONMessage(dst []byte, m *Message) []byte {
	if m.From == FromGroup {
		dst = append(dst, `{"type":"message","from":"group","group":`...)
		dst = AppendJSONString(dst, m.Group)
		if m.HasFromUserID {
			dst = append(dst, `,"fromUserId":`...)
			dst = AppendJSONString(dst, m.FromUserID)
		}
	} else {
		dst = append(dst, `{"type":"message","from":"server"`...)
	}
	dst = append(dst, `,"dataType":"`...)
	dst = append(dst, m.Type.String()...)
	dst = append(dst, `","data":`...)
	dst = appendJSONData(dst, &m.Payload)
	return append(dst, '}')
}

// JSONSequencedPrefix appends the per-connection head of a reliable data message: the encoded message
// from AppendJSONMessage is sent as prefix + encoded[1:], so the body stays shared.
func JSONSequencedPrefix(dst []byte, seq uint64) []byte {
	dst = append(dst, `{"sequenceId":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	return append(dst, ',')
}

// AppendJSONAck appends an ack. errName is empty for success.
func AppendJSONAck(dst []byte, ackID uint64, errName, errMessage string) []byte {
	dst = append(dst, `{"type":"ack","ackId":`...)
	dst = strconv.AppendUint(dst, ackID, 10)
	if errName == "" {
		return append(dst, `,"success":true}`...)
	}
	dst = append(dst, `,"success":false,"error":{"name":`...)
	dst = AppendJSONString(dst, errName)
	dst = append(dst, `,"message":`...)
	dst = AppendJSONString(dst, errMessage)
	return append(dst, "}}"...)
}

// AppendJSONConnected appends the connected system message. userID is null when hasUser is false; the
// reconnection token is included only when not empty (reliable protocols).
func AppendJSONConnected(dst []byte, connectionID, userID string, hasUser bool, reconnectionToken string) []byte {
	dst = append(dst, `{"type":"system","event":"connected","userId":`...)
	if hasUser {
		dst = AppendJSONString(dst, userID)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"connectionId":`...)
	dst = AppendJSONString(dst, connectionID)
	if reconnectionToken != "" {
		dst = append(dst, `,"reconnectionToken":`...)
		dst = AppendJSONString(dst, reconnectionToken)
	}
	return append(dst, '}')
}

// AppendJSONDisconnected appends the disconnected system message carrying the reason.
func AppendJSONDisconnected(dst []byte, reason string) []byte {
	dst = append(dst, `{"type":"system","event":"disconnected","message":`...)
	dst = AppendJSONString(dst, reason)
	return append(dst, '}')
}

func appendJSONData(dst []byte, p *Payload) []byte {
	switch p.Type {
	case Text:
		return appendJSONStringBytes(dst, p.Data)
	case JSONData:
		return append(dst, p.Data...)
	}
	dst = append(dst, '"')
	n := base64.StdEncoding.EncodedLen(len(p.Data))
	dst = grow(dst, n)
	base64.StdEncoding.Encode(dst[len(dst):len(dst)+n], p.Data)
	dst = dst[:len(dst)+n]
	return append(dst, '"')
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), 2*cap(b)+n)
	copy(nb, b)
	return nb
}

// AppendJSONString appends s as a JSON string literal. Invalid UTF-8 becomes U+FFFD.
func AppendJSONString(dst []byte, s string) []byte {
	return appendJSONStringBytes(dst, []byte(s)) // the conversion does not escape: no allocation
}

const hexDigits = "0123456789abcdef"

func appendJSONStringBytes(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 break JavaScript string literals; escape them as encoding/json does.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
