package protocol

import (
	"bytes"
	"testing"
)

// equivalenceSeeds are inputs where a hand-written JSON scanner is easy to get wrong.
var equivalenceSeeds = []string{
	`{"type":"sendToGroup","group":"g","dataType":"text","data":"a\"b\\c\/d\u00e9\ud83d\ude00\ud800x"}`,
	`{"TYPE":"joinGroup","GROUP":"g"}`,
	`{"type":"joinGroup","group":"g","type":"leaveGroup"}`,
	`{"\u0074ype":"ping"}`,
	`{"type":"event","event":"e","data":{"a":[1,-2.5e+3,true,false,null,"x"]}}`,
	`{"type":"event","event":"e","dataType":"text","data":null}`,
	`{"type":"event","event":"e","dataType":"binary","data":null}`,
	`{"type":"sendToGroup","group":"g","data":1,"noEcho":null,"ackId":null}`,
	`{"type":"sendToGroup","group":"g","data":1,"ackId":1e2}`,
	`{"type":"sendToGroup","group":"g","data":1,"ackId":18446744073709551616}`,
	`{"type":"sendToGroup","group":"g","data":01}`,
	`{"type":"ping"} x`,
	` {"type":"ping"}` + "\n",
	`[{"type":"ping"}]`,
	`"ping"`,
	`{"type":"ping",}`,
	`{"type":"ping" "x":1}`,
	`{"type":"event","event":"e","data":"\x01"}`,
	`{"type":"event","event":"e","dataType":"text","data":"bad \xff utf8"}`,
	`{"type":"event","event":"\u0065","data":1}`,
	`{"type":"sequenceAck","sequenceId":-1}`,
	`{"type":"sequenceAck","sequenceId":"1"}`,
	`{"type":1}`,
	`{"type":null}`,
	`{"type":"joinGroup","group":["g"]}`,
	`{"type":"event","event":"e","dataType":"Binary","data":"AQ=="}`,
}

// FuzzDecodeJSONEquivalence: the scanner accepts exactly what the encoding/json decoder it replaced
// accepted, with the same result.
func FuzzDecodeJSONEquivalence(f *testing.F) {
	for _, tc := range jsonCases {
		f.Add([]byte(tc.in))
	}
	for _, s := range equivalenceSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeJSON(b)
		want, wantErr := decodeJSONReference(b)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: scanner error %v, reference error %v", b, err, wantErr)
		}
		if err != nil {
			return
		}
		if got.Type != want.Type || got.Group != want.Group || got.Event != want.Event || got.AckID != want.AckID ||
			got.HasAckID != want.HasAckID || got.NoEcho != want.NoEcho || got.SequenceID != want.SequenceID ||
			got.Payload.Type != want.Payload.Type || !bytes.Equal(got.Data, want.Data) {
			t.Fatalf("%q:\n scanner   %+v\n reference %+v", b, got, want)
		}
	})
}

func TestDecodeJSONEquivalenceSeeds(t *testing.T) {
	for _, s := range equivalenceSeeds {
		got, err := DecodeJSON([]byte(s))
		want, wantErr := decodeJSONReference([]byte(s))
		if (err == nil) != (wantErr == nil) || err == nil && (got.Type != want.Type || !bytes.Equal(got.Data, want.Data) || got.Group != want.Group) {
			t.Errorf("%q: scanner (%+v, %v), reference (%+v, %v)", s, got, err, want, wantErr)
		}
	}
}

// BenchmarkDecodeJSONReference is the decoder DecodeJSON replaced, on the same cases, for comparison.
func BenchmarkDecodeJSONReference(b *testing.B) { benchmarkDecoder(b, decodeJSONReference) }
