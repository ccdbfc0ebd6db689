package protocol

import (
	"strings"
	"testing"
)

// protobufBenchInputs are the golden upstream vectors plus a 2 KB message, as clients send them.
func protobufBenchInputs(b *testing.B) []struct {
	name string
	in   []byte
} {
	var out []struct {
		name string
		in   []byte
	}
	for _, tc := range upstreamGoldens() {
		out = append(out, struct {
			name string
			in   []byte
		}{tc.name, unhex(b, tc.hex)})
	}
	big := upstreamFromRequest(b, Request{Type: SendToGroup, Group: "room", Payload: Payload{Type: Text, Data: []byte(strings.Repeat("x", 2048))}})
	return append(out, struct {
		name string
		in   []byte
	}{"sendToGroup 2KB text", big})
}

func BenchmarkDecodeProtobuf(b *testing.B) {
	for _, tc := range protobufBenchInputs(b) {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.in)))
			for b.Loop() {
				if _, err := DecodeProtobuf(tc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendProtobufMessage encodes the JSON encoder's message cases, for comparison.
func BenchmarkAppendProtobufMessage(b *testing.B) {
	for _, tc := range messageCases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 4096)
			for b.Loop() {
				buf = AppendProtobufMessage(buf[:0], &tc.m)
			}
		})
	}
}

func BenchmarkProtobufSequenced(b *testing.B) {
	body := AppendProtobufMessage(nil, &messageCases[0].m)
	b.ReportAllocs()
	buf := make([]byte, 0, 32)
	for b.Loop() {
		_, _, _ = ProtobufSequenced(buf[:0], body, 1<<40)
	}
}
