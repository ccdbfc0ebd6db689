package scaleout

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// Rounds of TestMembershipVisibleToNextCall: the failures it looks for are races, so each case is
// tried several times; a case stops at its third failure, each of which can cost lostAfter.
const (
	consistencyRounds = 20
	maxFailures       = 3
	lostAfter         = time.Second
)

// TestMembershipVisibleToNextCall checks read-your-writes across processes: once a group membership
// call answered, the caller's next call sees its effect. An app that awaits
// group.addConnection(id) and then group.sendToAll(...) expects that connection to get the message,
// and one that removed a connection expects it not to. Each call is made on B for connections held by
// A, and the send on C; A has no other member of a group it joins, so it must subscribe to it first.
func TestMembershipVisibleToNextCall(t *testing.T) {
	cl := newCluster(t, 3)
	a, b, c := cl.nodes[0], cl.nodes[1], cl.nodes[2]

	// A call is made on B: method, path, JSON body. The target is user u's only connection.
	type call struct{ method, path, body string }
	bulk := func(op string, target *client, hub, group string) call {
		return call{http.MethodPost, hubPath(hub) + "/:" + op,
			fmt.Sprintf(`{"groups":[%q],"filter":"connectionId eq '%s'"}`, group, target.id)}
	}
	for _, tc := range []struct {
		name string
		add  bool // the target must receive the send (else it must not)
		call func(target *client, hub, group string) call
	}{
		{"addConnectionToGroup", true, func(m *client, hub, g string) call {
			return call{http.MethodPut, groupPath(hub, g) + "/connections/" + url.PathEscape(m.id), ""}
		}},
		{"addUserToGroup", true, func(_ *client, hub, g string) call {
			return call{http.MethodPut, userPath(hub, "u") + "/groups/" + url.PathEscape(g), ""}
		}},
		{"addToGroups", true, func(m *client, hub, g string) call { return bulk("addToGroups", m, hub, g) }},
		{"removeConnectionFromGroup", false, func(m *client, hub, g string) call {
			return call{http.MethodDelete, groupPath(hub, g) + "/connections/" + url.PathEscape(m.id), ""}
		}},
		{"removeConnectionFromAllGroups", false, func(m *client, hub, _ string) call {
			return call{http.MethodDelete, connPath(hub, m.id) + "/groups", ""}
		}},
		{"removeUserFromGroup", false, func(_ *client, hub, g string) call {
			return call{http.MethodDelete, userPath(hub, "u") + "/groups/" + url.PathEscape(g), ""}
		}},
		{"removeUserFromAllGroups", false, func(_ *client, hub, _ string) call {
			return call{http.MethodDelete, userPath(hub, "u") + "/groups", ""}
		}},
		{"removeFromGroups", false, func(m *client, hub, g string) call { return bulk("removeFromGroups", m, hub, g) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub := tc.name
			target := cl.connect(t, a, "target", hub, clientOptions{user: "u"})
			witness := cl.connect(t, a, "witness", hub, clientOptions{user: "w"})
			cl.settle(t, a)
			// leaveAll takes m out of its groups and waits for it: a late removal must not hit the
			// next round.
			leaveAll := func(m *client, group string) {
				cl.must(t, http.StatusNoContent, c, http.MethodDelete, connPath(hub, m.id)+"/groups", nil, "", nil)
				cl.waitMembers(t, c, hub, group)
			}

			failures, rounds := 0, 0
			for rounds < consistencyRounds && failures < maxFailures {
				rounds++
				group := fmt.Sprintf("g%d", rounds)
				text := "after-" + group
				if !tc.add {
					// Both in the group, and A subscribed to it, before the removal.
					for _, m := range []*client{target, witness} {
						cl.must(t, http.StatusOK, c, http.MethodPut, groupPath(hub, group)+"/connections/"+url.PathEscape(m.id), nil, "", nil)
					}
					cl.waitMembers(t, c, hub, group, target, witness)
				}
				k := tc.call(target, hub, group)
				want := http.StatusOK
				if k.method == http.MethodDelete {
					want = http.StatusNoContent
				}
				contentType := ""
				if k.body != "" {
					contentType = "application/json"
				}
				cl.must(t, want, b, k.method, k.path, nil, contentType, []byte(k.body))
				cl.sendText(t, c, groupPath(hub, group)+"/:send", nil, text)
				if tc.add {
					if !target.awaitText(text, lostAfter) {
						failures++
					}
					leaveAll(target, group)
					continue
				}
				witness.expectText(text)
				if !cl.nothingFor(t, target) {
					failures++
				}
				leaveAll(witness, group)
			}
			if failures > 0 {
				verb := "was lost"
				if !tc.add {
					verb = "still reached the removed connection"
				}
				t.Errorf("%s answered on B for a connection on A, then sendToGroup on C: the message %s in %d of %d rounds",
					tc.name, verb, failures, rounds)
			}
		})
	}
}
