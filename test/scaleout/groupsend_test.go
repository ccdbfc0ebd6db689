package scaleout

import "testing"

// TestClientSendToGroupAcrossProcesses: a client's sendToGroup on A reaches the group's members on A,
// B and C, marked with the sender's user (a raw member on C gets the bare text frame); with noEcho the
// sender gets nothing, wherever it is.
func TestClientSendToGroupAcrossProcesses(t *testing.T) {
	cl := newCluster(t, 3)
	a, b, c := cl.nodes[0], cl.nodes[1], cl.nodes[2]
	const hub = "echo"
	sender := clientOptions{user: "s", roles: []string{"webpubsub.sendToGroup"}, groups: []string{"g"}}
	sa := cl.connect(t, a, "sa", hub, sender)
	sb := cl.connect(t, b, "sb", hub, sender)
	member := clientOptions{user: "m", groups: []string{"g"}}
	members := []*client{
		cl.connect(t, a, "a1", hub, member),
		cl.connect(t, b, "b1", hub, member),
		cl.connect(t, c, "c1", hub, member),
		cl.connect(t, c, "raw", hub, clientOptions{raw: true, groups: []string{"g"}}),
	}
	cl.settle(t, a, b, c)

	send := func(s *client, text string, noEcho bool) {
		t.Helper()
		if ack := s.sendToGroup("g", text, noEcho); ack.Success == nil || !*ack.Success {
			t.Fatalf("%s: sendToGroup %q: %s", s.name, text, ack.raw)
		}
	}

	send(sa, "echo-1", false)
	for _, m := range append([]*client{sa, sb}, members...) {
		got := m.expectText("echo-1")
		if m.raw {
			continue
		}
		if got.From != "group" || got.Group != "g" || got.FromUserID == nil || *got.FromUserID != "s" {
			t.Errorf("%s: a client's group message arrived as %s, want from group g with fromUserId s", m.name, got.raw)
		}
	}

	// noEcho: every member but the sender, then an echoed message that must come next for the sender.
	send(sa, "echo-2", true)
	expectAll(append([]*client{sb}, members...), "echo-2")
	send(sb, "echo-3", true)
	expectAll(append([]*client{sa}, members...), "echo-3")
	send(sa, "echo-4", false)
	expectAll(append([]*client{sa, sb}, members...), "echo-4")
	send(sb, "echo-5", false)
	expectAll(append([]*client{sa, sb}, members...), "echo-5")
}
