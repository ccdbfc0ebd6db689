package scaleout

import (
	"net/http"
	"net/url"
	"testing"
)

// TestRESTFromOtherProcess runs every REST operation of the 2024-12-01 API on a process other than
// the one holding the connections it acts on, and checks what the clients receive. Each subtest has a
// hub of its own, so they share the three processes.
func TestRESTFromOtherProcess(t *testing.T) {
	cl := newCluster(t, 3)
	a, b, c := cl.nodes[0], cl.nodes[1], cl.nodes[2]

	t.Run("sendToAll", func(t *testing.T) {
		const hub = "all"
		a1 := cl.connect(t, a, "a1", hub, clientOptions{user: "u1"})
		a2 := cl.connect(t, a, "a2", hub, clientOptions{user: "u2"})
		b1 := cl.connect(t, b, "b1", hub, clientOptions{user: "u1"})
		c1 := cl.connect(t, c, "c1", hub, clientOptions{user: "u3"})
		cl.settle(t, a, b, c)

		cl.sendText(t, b, hubPath(hub)+"/:send", nil, "all-1")
		for _, m := range []message{a1.expectText("all-1"), a2.expectText("all-1"), b1.expectText("all-1"), c1.expectText("all-1")} {
			if m.From != "server" {
				t.Errorf("sendToAll arrived from %q, want server: %s", m.From, m.raw)
			}
		}
		// a2 excluded by ID, c1 by the filter: the unfiltered marker on the same channel comes next.
		cl.sendText(t, c, hubPath(hub)+"/:send", url.Values{"excluded": {a2.id}, "filter": {"userId eq 'u1' or userId eq 'u2'"}}, "all-2")
		cl.sendText(t, c, hubPath(hub)+"/:send", nil, "all-3")
		expectAll([]*client{a1, b1}, "all-2")
		expectAll([]*client{a1, a2, b1, c1}, "all-3")
	})

	t.Run("sendToGroup", func(t *testing.T) {
		const hub = "group"
		in := clientOptions{user: "u1", groups: []string{"g"}}
		a1 := cl.connect(t, a, "a1", hub, in)
		a2 := cl.connect(t, a, "a2", hub, clientOptions{user: "u2", groups: []string{"g"}})
		b1 := cl.connect(t, b, "b1", hub, clientOptions{user: "u2", groups: []string{"g"}})
		c1 := cl.connect(t, c, "c1", hub, in)
		c2 := cl.connect(t, c, "c2", hub, clientOptions{user: "u2"}) // not a member
		cl.settle(t, a, b, c)

		cl.sendText(t, b, groupPath(hub, "g")+"/:send", nil, "g-1")
		for _, m := range []message{a1.expectText("g-1"), a2.expectText("g-1"), b1.expectText("g-1"), c1.expectText("g-1")} {
			if m.From != "group" || m.Group != "g" || m.FromUserID != nil {
				t.Errorf("REST sendToGroup arrived as %s, want from group g without fromUserId", m.raw)
			}
		}
		cl.sendText(t, a, groupPath(hub, "g")+"/:send", url.Values{"excluded": {c1.id}, "filter": {"userId ne 'u1' or connectionId eq '" + c1.id + "'"}}, "g-2")
		cl.sendText(t, a, groupPath(hub, "g")+"/:send", nil, "g-3")
		expectAll([]*client{a2, b1}, "g-2")
		expectAll([]*client{a1, a2, b1, c1}, "g-3")
		cl.expectNothing(t, c2)
	})

	t.Run("sendToUser", func(t *testing.T) {
		const hub = "user"
		a1 := cl.connect(t, a, "a1", hub, clientOptions{user: "u1"})
		b1 := cl.connect(t, b, "b1", hub, clientOptions{user: "u1"})
		c1 := cl.connect(t, c, "c1", hub, clientOptions{user: "u2"})
		cl.settle(t, a, b, c)

		cl.sendText(t, c, userPath(hub, "u1")+"/:send", nil, "u-1")
		expectAll([]*client{a1, b1}, "u-1")
		cl.sendText(t, c, userPath(hub, "u1")+"/:send", url.Values{"filter": {"connectionId ne '" + a1.id + "'"}}, "u-2")
		cl.sendText(t, c, userPath(hub, "u1")+"/:send", nil, "u-3")
		b1.expectText("u-2")
		expectAll([]*client{a1, b1}, "u-3")
		cl.expectNothing(t, c1)
	})

	t.Run("sendToConnection", func(t *testing.T) {
		const hub = "connection"
		a1 := cl.connect(t, a, "a1", hub, clientOptions{})
		a2 := cl.connect(t, a, "a2", hub, clientOptions{})
		cl.settle(t, a)
		path := connPath(hub, a1.id) + "/:send"
		for _, tc := range []struct {
			contentType, body, dataType, data string
		}{
			{"text/plain", "hello", "text", `"hello"`},
			{"application/json", `{"n":1}`, "json", `{"n":1}`},
			{"application/octet-stream", "\x01\x02\x03", "binary", `"AQID"`},
		} {
			cl.must(t, http.StatusAccepted, b, http.MethodPost, path, nil, tc.contentType, []byte(tc.body))
			m := a1.next(waitFor)
			if m.From != "server" || m.DataType != tc.dataType || string(m.Data) != tc.data {
				t.Errorf("%s body %q arrived as %s, want dataType %s data %s", tc.contentType, tc.body, m.raw, tc.dataType, tc.data)
			}
		}
		cl.expectNothing(t, a2)
	})

	t.Run("connectionGroups", func(t *testing.T) {
		const hub = "connectiongroups"
		a1 := cl.connect(t, a, "a1", hub, clientOptions{user: "u1"})
		a2 := cl.connect(t, a, "a2", hub, clientOptions{user: "u2"}) // witness on a1's process
		cl.settle(t, a)

		// a1 is A's first member of g1 and g2: A subscribes to them as the calls add it.
		cl.must(t, http.StatusOK, b, http.MethodPut, groupPath(hub, "g1")+"/connections/"+url.PathEscape(a1.id), nil, "", nil)
		cl.waitMembers(t, c, hub, "g1", a1)
		cl.sendText(t, c, groupPath(hub, "g1")+"/:send", nil, "cg-1")
		a1.expectText("cg-1")
		cl.must(t, http.StatusNotFound, b, http.MethodPut, groupPath(hub, "g1")+"/connections/no-such-connection", nil, "", nil)

		cl.must(t, http.StatusOK, c, http.MethodPut, groupPath(hub, "g2")+"/connections/"+url.PathEscape(a1.id), nil, "", nil)
		for _, g := range []string{"g1", "g2"} {
			cl.must(t, http.StatusOK, b, http.MethodPut, groupPath(hub, g)+"/connections/"+url.PathEscape(a2.id), nil, "", nil)
			cl.waitMembers(t, c, hub, g, a1, a2)
		}
		cl.sendText(t, b, groupPath(hub, "g2")+"/:send", nil, "cg-2")
		expectAll([]*client{a1, a2}, "cg-2")

		cl.must(t, http.StatusNoContent, b, http.MethodDelete, groupPath(hub, "g1")+"/connections/"+url.PathEscape(a1.id), nil, "", nil)
		cl.waitMembers(t, c, hub, "g1", a2)
		cl.sendText(t, c, groupPath(hub, "g1")+"/:send", nil, "cg-3")
		a2.expectText("cg-3")
		cl.expectNothing(t, a1)
		cl.sendText(t, c, groupPath(hub, "g2")+"/:send", nil, "cg-4") // still in g2
		expectAll([]*client{a1, a2}, "cg-4")

		cl.must(t, http.StatusNoContent, c, http.MethodDelete, connPath(hub, a1.id)+"/groups", nil, "", nil)
		cl.waitMembers(t, b, hub, "g2", a2)
		cl.sendText(t, b, groupPath(hub, "g2")+"/:send", nil, "cg-5")
		a2.expectText("cg-5")
		cl.expectNothing(t, a1)
	})

	t.Run("userGroups", func(t *testing.T) {
		const hub = "usergroups"
		a1 := cl.connect(t, a, "a1", hub, clientOptions{user: "u1"})
		b1 := cl.connect(t, b, "b1", hub, clientOptions{user: "u1"})
		witness := clientOptions{user: "w", groups: []string{"g", "h"}}
		wa := cl.connect(t, a, "wa", hub, witness)
		wb := cl.connect(t, b, "wb", hub, witness)
		cl.settle(t, a, b)
		both := []*client{a1, b1}

		cl.must(t, http.StatusOK, c, http.MethodPut, userPath(hub, "u1")+"/groups/g", nil, "", nil)
		cl.must(t, http.StatusOK, c, http.MethodPut, userPath(hub, "u1")+"/groups/h", nil, "", nil)
		cl.waitMembers(t, c, hub, "g", a1, b1, wa, wb)
		cl.waitMembers(t, c, hub, "h", a1, b1, wa, wb)
		cl.sendText(t, c, groupPath(hub, "g")+"/:send", nil, "ug-1")
		expectAll([]*client{a1, b1, wa, wb}, "ug-1")

		cl.must(t, http.StatusNoContent, b, http.MethodDelete, userPath(hub, "u1")+"/groups/g", nil, "", nil)
		cl.waitMembers(t, c, hub, "g", wa, wb)
		cl.sendText(t, c, groupPath(hub, "g")+"/:send", nil, "ug-2")
		expectAll([]*client{wa, wb}, "ug-2")
		cl.expectNothing(t, both...)
		cl.sendText(t, c, groupPath(hub, "h")+"/:send", nil, "ug-3")
		expectAll([]*client{a1, b1, wa, wb}, "ug-3")

		cl.must(t, http.StatusNoContent, a, http.MethodDelete, userPath(hub, "u1")+"/groups", nil, "", nil)
		cl.waitMembers(t, c, hub, "h", wa, wb)
		cl.sendText(t, c, groupPath(hub, "h")+"/:send", nil, "ug-4")
		expectAll([]*client{wa, wb}, "ug-4")
		cl.expectNothing(t, both...)
	})

	t.Run("close", func(t *testing.T) {
		const hub = "close"
		a1 := cl.connect(t, a, "a1", hub, clientOptions{})
		a2 := cl.connect(t, a, "a2", hub, clientOptions{user: "u1"})
		a3 := cl.connect(t, a, "a3", hub, clientOptions{groups: []string{"g"}})
		b1 := cl.connect(t, b, "b1", hub, clientOptions{user: "u1"})
		b2 := cl.connect(t, b, "b2", hub, clientOptions{groups: []string{"g"}})
		c1 := cl.connect(t, c, "c1", hub, clientOptions{user: "u1"})
		c2 := cl.connect(t, c, "c2", hub, clientOptions{groups: []string{"g"}})
		cl.settle(t, a, b, c)

		cl.must(t, http.StatusNoContent, b, http.MethodDelete, connPath(hub, a1.id), url.Values{"reason": {"bye connection"}}, "", nil)
		a1.expectDisconnected("bye connection")
		eventually(t, waitFor, "a closed connection stops existing", func() bool {
			return !cl.exists(t, c, connPath(hub, a1.id), nil)
		})

		cl.must(t, http.StatusNoContent, c, http.MethodPost, userPath(hub, "u1")+"/:closeConnections",
			url.Values{"excluded": {c1.id}, "reason": {"bye user"}}, "", nil)
		a2.expectDisconnected("bye user")
		b1.expectDisconnected("bye user")

		cl.must(t, http.StatusNoContent, a, http.MethodPost, groupPath(hub, "g")+"/:closeConnections",
			url.Values{"excluded": {b2.id}, "reason": {"bye group"}}, "", nil)
		a3.expectDisconnected("bye group")
		c2.expectDisconnected("bye group")

		cl.must(t, http.StatusNoContent, b, http.MethodPost, hubPath(hub)+"/:closeConnections",
			url.Values{"excluded": {c1.id}, "reason": {"bye all"}}, "", nil)
		b2.expectDisconnected("bye all")
		cl.expectNothing(t, c1) // excluded every time, and still served
	})

	t.Run("exists", func(t *testing.T) {
		const hub = "exists"
		a1 := cl.connect(t, a, "a1", hub, clientOptions{user: "u1", groups: []string{"g"}})
		cl.settle(t, a)
		for _, n := range []*node{b, c} {
			for _, tc := range []struct {
				path string
				want bool
			}{
				{connPath(hub, a1.id), true},
				{connPath(hub, "no-such-connection"), false},
				{userPath(hub, "u1"), true},
				{userPath(hub, "nobody"), false},
				{groupPath(hub, "g"), true},
				{groupPath(hub, "empty"), false},
			} {
				if got := cl.exists(t, n, tc.path, nil); got != tc.want {
					t.Errorf("HEAD %s on %s: exists %v, want %v", tc.path, n.name, got, tc.want)
				}
			}
		}
		a1.close()
		for _, path := range []string{connPath(hub, a1.id), userPath(hub, "u1"), groupPath(hub, "g")} {
			eventually(t, waitFor, path+" stops existing once its connection closed", func() bool {
				return !cl.exists(t, b, path, nil)
			})
		}
	})

	t.Run("listGroupConnections", func(t *testing.T) {
		const hub = "list"
		want := map[string]string{} // connectionId -> userId ("" anonymous)
		for i, n := range []*node{a, a, a, b, b, c, c} {
			o := clientOptions{groups: []string{"g"}}
			if i != 3 {
				o.user = "u" + string(rune('0'+i))
			}
			m := cl.connect(t, n, "m"+string(rune('0'+i)), hub, o)
			want[m.id] = o.user
		}
		cl.connect(t, b, "other", hub, clientOptions{user: "x", groups: []string{"other"}})
		cl.settle(t, a, b, c)

		for _, n := range []*node{b, c} {
			got, pages := cl.listGroup(t, n, hub, "g", url.Values{"maxpagesize": {"2"}})
			if pages != 4 {
				t.Errorf("listing 7 members 2 a page on %s took %d pages, want 4", n.name, pages)
			}
			checkMembers(t, n.name, got, want)
		}
		got, _ := cl.listGroup(t, a, hub, "g", url.Values{"maxpagesize": {"2"}, "top": {"3"}})
		if len(got) != 3 {
			t.Errorf("top=3 listed %d members, want 3", len(got))
		}
	})

	t.Run("permissions", func(t *testing.T) {
		const hub = "permissions"
		sender := cl.connect(t, a, "sender", hub, clientOptions{user: "s"})
		member := cl.connect(t, c, "member", hub, clientOptions{groups: []string{"g"}})
		cl.settle(t, a, c)
		send := permPath(hub, "sendToGroup", sender.id)
		target := url.Values{"targetName": {"g"}}

		if cl.exists(t, b, send, target) {
			t.Error("check sendToGroup before a grant: 200, want 404")
		}
		expectForbidden(t, sender.sendToGroup("g", "p-0", true))
		cl.must(t, http.StatusOK, b, http.MethodPut, send, target, "", nil)
		if !cl.exists(t, c, send, target) {
			t.Error("check sendToGroup after the grant: 404, want 200")
		}
		if ack := sender.sendToGroup("g", "p-1", true); ack.Success == nil || !*ack.Success {
			t.Fatalf("sendToGroup after the grant: %s", ack.raw)
		}
		if m := member.expectText("p-1"); m.FromUserID == nil || *m.FromUserID != "s" {
			t.Errorf("a client's group message arrived as %s, want fromUserId s", m.raw)
		}
		cl.must(t, http.StatusNoContent, c, http.MethodDelete, send, target, "", nil)
		if cl.exists(t, b, send, target) {
			t.Error("check sendToGroup after the revoke: 200, want 404")
		}
		expectForbidden(t, sender.sendToGroup("g", "p-2", true))
		cl.expectNothing(t, member)

		// Without targetName a grant covers every group (DESIGN.md decision 8).
		if ack := sender.request(map[string]any{"type": "joinGroup", "group": "any"}); ack.Success == nil || *ack.Success {
			t.Errorf("joinGroup without the permission: %s, want Forbidden", ack.raw)
		}
		cl.must(t, http.StatusOK, c, http.MethodPut, permPath(hub, "joinLeaveGroup", sender.id), nil, "", nil)
		sender.joinGroup("any")
		cl.must(t, http.StatusNotFound, b, http.MethodPut, permPath(hub, "joinLeaveGroup", "no-such-connection"), nil, "", nil)
	})

	t.Run("addToGroupsAndRemoveFromGroups", func(t *testing.T) {
		const hub = "bulk"
		a1 := cl.connect(t, a, "a1", hub, clientOptions{user: "u1"})
		a2 := cl.connect(t, a, "a2", hub, clientOptions{user: "u2"})
		b1 := cl.connect(t, b, "b1", hub, clientOptions{user: "u2"})
		c1 := cl.connect(t, c, "c1", hub, clientOptions{user: "u1"})
		cl.settle(t, a, b, c)

		body := `{"groups":["x","y"],"filter":"userId eq 'u1'"}`
		cl.must(t, http.StatusOK, b, http.MethodPost, hubPath(hub)+"/:addToGroups", nil, "application/json", []byte(body))
		cl.waitMembers(t, c, hub, "x", a1, c1)
		cl.waitMembers(t, c, hub, "y", a1, c1)
		for _, g := range []string{"x", "y"} {
			cl.sendText(t, b, groupPath(hub, g)+"/:send", nil, "bulk-"+g)
			expectAll([]*client{a1, c1}, "bulk-"+g)
		}
		cl.expectNothing(t, a2, b1)
		body = `{"groups":["x"],"filter":"connectionId eq '` + c1.id + `'"}`
		cl.must(t, http.StatusOK, a, http.MethodPost, hubPath(hub)+"/:removeFromGroups", nil, "application/json", []byte(body))
		cl.waitMembers(t, b, hub, "x", a1)
		cl.sendText(t, b, groupPath(hub, "x")+"/:send", nil, "bulk-x2")
		a1.expectText("bulk-x2")
		cl.sendText(t, b, groupPath(hub, "y")+"/:send", nil, "bulk-y2") // c1 is still in y
		expectAll([]*client{a1, c1}, "bulk-y2")
	})
}
