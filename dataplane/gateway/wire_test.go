package gateway

import (
	"reflect"
	"testing"

	"github.com/kwps/kwps/dataplane/protocol"
)

var envelopeCases = []envelope{
	{op: opSendGroup, hub: "chat", target: "room", excluded: []string{"c1", "c2"}, filter: "userId eq 'a'", expires: 1700000000000000000,
		id: msgID{origin: 42, n: 7}, msg: protocol.Message{From: protocol.FromGroup, Group: "room", FromUserID: "u", HasFromUserID: true,
			Payload: protocol.Payload{Type: protocol.Binary, Data: []byte{0, 1, 2}}}},
	{op: opCloseAll, hub: "h", reason: "maintenance", excluded: []string{"x"}},
	{op: opAddToGroups, hub: "h", groups: []string{"a", "b"}, filter: "'g' in groups"},
	{op: opGrant, hub: "h", target: "c", perm: PermJoinLeaveGroup, group: "g"},
	{op: opListGroup, hub: "h", target: "g"},
}

func TestEnvelopeRoundTrip(t *testing.T) {
	for _, e := range envelopeCases {
		got, err := decodeEnvelope(e.encode(nil))
		if err != nil {
			t.Fatalf("%v: %v", e.op, err)
		}
		if len(got.msg.Data) == 0 {
			got.msg.Data = e.msg.Data // nil and empty are the same message
		}
		if !reflect.DeepEqual(*got, e) {
			t.Fatalf("round trip\n got %+v\nwant %+v", *got, e)
		}
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	for _, e := range envelopeCases {
		f.Add(e.encode(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEnvelope(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to something that decodes the same.
		again, err := decodeEnvelope(e.encode(nil))
		if err != nil || again.op != e.op || again.hub != e.hub || len(again.excluded) != len(e.excluded) {
			t.Fatalf("re-encoding changed the envelope: %+v vs %+v (%v)", again, e, err)
		}
	})
}
