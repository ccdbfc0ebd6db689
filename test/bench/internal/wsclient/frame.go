package wsclient

import (
	"bytes"

	"github.com/gobwas/ws"

	"github.com/kwps/kwps/test/bench/internal/latency"
)

// Frame returns a masked client text frame carrying payload (zero mask key: the bytes are unchanged).
func Frame(payload []byte) []byte {
	var b bytes.Buffer
	b.Grow(ws.MaxHeaderSize + len(payload))
	_ = ws.WriteHeader(&b, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Length: int64(len(payload))})
	b.Write(payload)
	return b.Bytes()
}

func pongFrame(p []byte) []byte {
	var b bytes.Buffer
	_ = ws.WriteHeader(&b, ws.Header{Fin: true, OpCode: ws.OpPong, Masked: true, Length: int64(len(p))})
	b.Write(p)
	return b.Bytes()
}

// Template is a client frame whose payload carries a latency head, stamped on every send. It is
// immutable and may be shared by any number of connections.
type Template struct {
	frame []byte
	head  int // offset of the latency head in frame
}

// NewTemplate builds the text frame prefix+payload+suffix, where payload starts with a latency head
// (latency.Payload) and prefix and suffix are the protocol's wrapping, e.g. a JSON envelope.
func NewTemplate(prefix, payload, suffix []byte) *Template {
	body := make([]byte, 0, len(prefix)+len(payload)+len(suffix))
	body = append(append(append(body, prefix...), payload...), suffix...)
	frame := Frame(body)
	return &Template{frame: frame, head: len(frame) - len(body) + len(prefix)}
}

// stamp appends the frame to dst with its head set to step and now.
func (t *Template) stamp(dst []byte, step uint32) []byte {
	dst = append(dst, t.frame...)
	latency.Stamp(dst[t.head:], step, latency.Now())
	return dst
}
