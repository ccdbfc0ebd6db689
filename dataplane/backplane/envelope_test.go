package backplane

import (
	"bytes"
	"strings"
	"testing"
)

var envelopeCases = []struct {
	name string
	e    envelope
}{
	{"message", envelope{kind: kindMessage, origin: "pod-1", payload: []byte("hello")}},
	{"empty payload", envelope{kind: kindMessage, origin: "p"}},
	{"request", envelope{kind: kindRequest, origin: "pod-1", requestID: 1 << 40, replyTo: "kwps:node:pod-1", payload: []byte("q")}},
	{"reply", envelope{kind: kindReply, origin: "pod-2", requestID: 7, payload: []byte{0, 1, 2}}},
	{"binary payload", envelope{kind: kindMessage, origin: "p", payload: bytes.Repeat([]byte{0xff, 0}, 300)}},
	{"longest origin", envelope{kind: kindMessage, origin: strings.Repeat("o", maxIDLen), payload: []byte("x")}},
}

func TestEnvelopeRoundTrip(t *testing.T) {
	for _, tc := range envelopeCases {
		t.Run(tc.name, func(t *testing.T) {
			data := appendEnvelope(make([]byte, 0, envelopeSize(&tc.e)), &tc.e)
			if len(data) > envelopeSize(&tc.e) {
				t.Fatalf("encoded %d bytes, more than the %d reserved", len(data), envelopeSize(&tc.e))
			}
			got, err := decodeEnvelope(string(data))
			if err != nil {
				t.Fatal(err)
			}
			want := tc.e
			if want.kind != kindRequest {
				want.replyTo = ""
			}
			if want.kind == kindMessage {
				want.requestID = 0
			}
			if got.kind != want.kind || got.origin != want.origin || got.requestID != want.requestID ||
				got.replyTo != want.replyTo || got.body != string(want.payload) {
				t.Fatalf("decoded %+v, want %+v", got, want)
			}
		})
	}
}

func TestEnvelopeRejects(t *testing.T) {
	for _, tc := range []struct{ name, data string }{
		{"empty", ""},
		{"short", "\x01\x01"},
		{"unknown version", "\x02\x01\x01p"},
		{"kind zero", "\x01\x00\x01p"},
		{"unknown kind", "\x01\x04\x01p"},
		{"empty origin", "\x01\x01\x00payload"},
		{"origin overruns", "\x01\x01\x05abc"},
		{"origin too long", "\x01\x01\x81\x01" + strings.Repeat("o", 129)},
		{"request ID missing", "\x01\x03\x01p"},
		{"request ID overflows", "\x01\x03\x01p\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"},
		{"unterminated varint", "\x01\x03\x01p\xff\xff"},
		{"replyTo missing", "\x01\x02\x01p\x01"},
		{"replyTo overruns", "\x01\x02\x01p\x01\x09ab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if e, err := decodeEnvelope(tc.data); err == nil {
				t.Fatalf("decoded %+v from malformed input", e)
			}
		})
	}
}

// FuzzDecodeEnvelope checks that any input decodes without panicking, and that what decodes
// encodes back to the same bytes.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, tc := range envelopeCases {
		f.Add(appendEnvelope(nil, &tc.e))
	}
	f.Add([]byte("\x01\x03\x01p\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decodeEnvelope(string(data))
		if err != nil {
			return
		}
		e.payload = []byte(e.body)
		if again := appendEnvelope(nil, &e); !bytes.Equal(again, data) {
			// Varints have one canonical form in our encoder; accept only a non-canonical input.
			back, err := decodeEnvelope(string(again))
			if err != nil || back.kind != e.kind || back.origin != e.origin || back.requestID != e.requestID ||
				back.replyTo != e.replyTo || back.body != e.body {
				t.Fatalf("%q decoded to %+v, which encodes to %q", data, e, again)
			}
		}
	})
}
