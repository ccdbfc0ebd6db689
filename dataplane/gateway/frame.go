package gateway

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// appendFrameHeader appends an unmasked, final server frame header for a payload of n bytes.
func appendFrameHeader(dst []byte, op ws.OpCode, n int) []byte {
	b0 := byte(0x80) | byte(op)
	switch {
	case n <= 125:
		return append(dst, b0, byte(n))
	case n <= 0xffff:
		return append(dst, b0, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, 127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
}

// frameHeaderSize is the size of the header appendFrameHeader writes for n bytes.
func frameHeaderSize(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= 0xffff:
		return 4
	}
	return 10
}

// newFrame returns a complete server frame with payload p.
func newFrame(op ws.OpCode, p []byte) []byte {
	f := make([]byte, 0, frameHeaderSize(len(p))+len(p))
	f = appendFrameHeader(f, op, len(p))
	return append(f, p...)
}

// Precompiled control frames.
var (
	pingFrame = newFrame(ws.OpPing, nil)
)

// closeFrame returns a close frame with a status code and a reason cut to fit a control frame.
func closeFrame(code ws.StatusCode, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:120] + "..."
	}
	p := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	p = append(p, reason...)
	return newFrame(ws.OpClose, p)
}
