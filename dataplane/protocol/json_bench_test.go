package protocol

import (
	"strings"
	"testing"
)

// jsonCases are client messages shared by the decoder test and benchmark.
var jsonCases = []struct {
	name string
	in   string
	want Request
}{
	{"joinGroup", `{"type":"joinGroup","group":"g1","ackId":1}`, Request{Type: JoinGroup, Group: "g1", AckID: 1, HasAckID: true}},
	{"sendToGroup text", `{"type":"sendToGroup","group":"g1","ackId":2,"noEcho":true,"dataType":"text","data":"hi"}`,
		Request{Type: SendToGroup, Group: "g1", AckID: 2, HasAckID: true, NoEcho: true, Payload: Payload{Type: Text, Data: []byte("hi")}}},
	{"sendToGroup 2KB json", `{"type":"sendToGroup","group":"room","dataType":"json","data":{"text":"` + strings.Repeat("x", 2000) + `"}}`,
		Request{Type: SendToGroup, Group: "room", Payload: Payload{Type: JSONData, Data: []byte(`{"text":"` + strings.Repeat("x", 2000) + `"}`)}}},
	{"event binary", `{"type":"event","event":"e","ackId":3,"dataType":"binary","data":"AQID"}`,
		Request{Type: Event, Event: "e", AckID: 3, HasAckID: true, Payload: Payload{Type: Binary, Data: []byte{1, 2, 3}}}},
	{"event default json", `{"type":"event","event":"e","data":{"a":[1,2]}}`,
		Request{Type: Event, Event: "e", Payload: Payload{Type: JSONData, Data: []byte(`{"a":[1,2]}`)}}},
	{"type case-insensitive", `{"type":"JOINGROUP","group":"g"}`, Request{Type: JoinGroup, Group: "g"}},
	{"sequenceAck", `{"type":"sequenceAck","sequenceId":17}`, Request{Type: SequenceAck, SequenceID: 17}},
	{"ping", `{"type":"ping"}`, Request{Type: Ping}},
}

func TestDecodeJSON(t *testing.T) {
	for _, tc := range jsonCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeJSON([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tc.want.Type || got.Group != tc.want.Group || got.Event != tc.want.Event ||
				got.AckID != tc.want.AckID || got.HasAckID != tc.want.HasAckID || got.NoEcho != tc.want.NoEcho ||
				got.SequenceID != tc.want.SequenceID || got.Payload.Type != tc.want.Payload.Type ||
				string(got.Data) != string(tc.want.Data) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func BenchmarkDecodeJSON(b *testing.B) { benchmarkDecoder(b, DecodeJSON) }

// benchmarkDecoder runs decode on each of jsonCases.
func benchmarkDecoder(b *testing.B, decode func([]byte) (Request, error)) {
	for _, tc := range jsonCases {
		in := []byte(tc.in)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := decode(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// messageCases are downstream messages shared by the encoder test and benchmark.
var messageCases = []struct {
	name string
	m    Message
	want string
}{
	{"group text", Message{From: FromGroup, Group: "g", FromUserID: "u", HasFromUserID: true, Payload: Payload{Type: Text, Data: []byte("a\"b\n")}},
		`{"type":"message","from":"group","group":"g","fromUserId":"u","dataType":"text","data":"a\"b\n"}`},
	{"server json", Message{From: FromServer, Payload: Payload{Type: JSONData, Data: []byte(`{"k":1}`)}},
		`{"type":"message","from":"server","dataType":"json","data":{"k":1}}`},
	{"server binary", Message{From: FromServer, Payload: Payload{Type: Binary, Data: []byte{1, 2, 3}}},
		`{"type":"message","from":"server","dataType":"binary","data":"AQID"}`},
	{"group 2KB text", Message{From: FromGroup, Group: "room", Payload: Payload{Type: Text, Data: []byte(strings.Repeat("x", 2048))}},
		`{"type":"message","from":"group","group":"room","dataType":"text","data":"` + strings.Repeat("x", 2048) + `"}`},
}

func TestAppendJSONMessage(t *testing.T) {
	for _, tc := range messageCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(AppendJSONMessage(nil, &tc.m)); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func BenchmarkAppendJSONMessage(b *testing.B) {
	for _, tc := range messageCases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 4096)
			for b.Loop() {
				buf = AppendJSONMessage(buf[:0], &tc.m)
			}
		})
	}
}

func TestAppendJSONStringEscapes(t *testing.T) {
	cases := map[string]string{
		"plain":         `"plain"`,
		"q\"\\":         `"q\"\\"`,
		"\x00\x1f":      `"\u0000\u001f"`,
		"\u2028x":       `"\u2028x"`,
		"bad\xffutf8":   `"bad\ufffdutf8"`,
		"héllo wörld ✓": `"héllo wörld ✓"`,
	}
	for in, want := range cases {
		if got := string(AppendJSONString(nil, in)); got != want {
			t.Errorf("AppendJSONString(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, tc := range jsonCases {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte(`{"type":"sendToGroup","group":"g","dataType":"binary","data":"!!"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeJSON(b)
		if err != nil {
			return
		}
		switch r.Type {
		case JoinGroup, LeaveGroup, SendToGroup:
			if !ValidGroupName(r.Group) {
				t.Fatalf("accepted invalid group %q", r.Group)
			}
		case Event:
			if r.Event == "" || len(r.Event) > MaxEventNameLength {
				t.Fatalf("accepted invalid event name %q", r.Event)
			}
		}
		// Whatever was accepted encodes back into valid JSON.
		if r.Type == SendToGroup || r.Type == Event {
			out := AppendJSONMessage(nil, &Message{From: FromServer, Payload: r.Payload})
			if !jsonValid(out) {
				t.Fatalf("re-encoded message is not JSON: %s", out)
			}
		}
	})
}
