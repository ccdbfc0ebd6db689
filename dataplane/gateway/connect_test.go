package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/protocol"
)

func TestConnectedMessage(t *testing.T) {
	e := newEnv(t)
	c := e.dial(e.url("chat", e.token("chat", "alice", nil, nil)), protocol.JSONName)
	m := c.readJSON()
	if m["type"] != "system" || m["event"] != "connected" || m["userId"] != "alice" || m["connectionId"] == "" {
		t.Fatalf("connected = %v", m)
	}
	if _, ok := m["reconnectionToken"]; ok {
		t.Fatalf("non-reliable protocol got a reconnection token: %v", m)
	}
	anon := e.dial(e.url("chat", e.token("chat", "", nil, nil)), protocol.JSONName)
	if m := anon.readJSON(); m["userId"] != nil {
		t.Fatalf("anonymous connected userId = %v, want null", m["userId"])
	}
}

func TestSubprotocolNegotiation(t *testing.T) {
	e := newEnv(t)
	tok := e.token("chat", "u", nil, nil)
	cases := []struct {
		name    string
		offered []string
		want    string
	}{
		{"json", []string{protocol.JSONName}, protocol.JSONName},
		{"first predefined of several", []string{"custom", protocol.JSONName, protocol.JSONReliableName}, protocol.JSONName},
		{"custom only is raw, nothing echoed", []string{"custom"}, ""},
		{"none is raw", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, hs, err := e.tryDial(e.url("chat", tok), tc.offered...)
			if tc.want == "" && len(tc.offered) > 0 {
				// A client that offered only custom subprotocols gets none back; gobwas' dialer accepts that.
				if err != nil {
					t.Fatal(err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if hs.Protocol != tc.want {
				t.Fatalf("protocol = %q, want %q", hs.Protocol, tc.want)
			}
		})
	}
}

func TestAuthRefusals(t *testing.T) {
	e := newEnv(t)
	other := e.token("other", "u", nil, nil)
	cases := []struct {
		name, url string
		status    int
		body      string
	}{
		{"no token", "ws://" + e.base.Host + "/client/hubs/chat", 401, "access token is required"},
		{"garbage token", e.url("chat", "not-a-jwt"), 401, "Unauthorized"},
		{"token for another hub", e.url("chat", other), 401, "Unauthorized"},
		{"invalid hub name", e.url("1chat", other), 400, "Invalid hub name"},
		{"query form without hub", "ws://" + e.base.Host + "/client/?access_token=x", 400, "hub is required"},
		{"unknown path", "ws://" + e.base.Host + "/client/foo", 400, "Unknown client endpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.refused(tc.url, protocol.JSONName)
			if status != tc.status || !strings.Contains(body, tc.body) {
				t.Fatalf("got %d %q, want %d containing %q", status, body, tc.status, tc.body)
			}
		})
	}
}

func TestHubForms(t *testing.T) {
	e := newEnv(t)
	tok := e.token("Chat", "u", nil, nil)
	// Query form, and hub case-insensitive: both reach the same hub.
	c1 := e.dial("ws://"+e.base.Host+"/client/?hub=Chat&access_token="+tok, protocol.JSONName)
	c1.readJSON()
	c2 := e.dial(e.url("CHAT", tok), protocol.JSONName)
	c2.readJSON()
	eventually(t, "two connections in hub chat", func() bool { return e.gw.Connections("chat") == 2 })
}

func TestAnonymousPolicy(t *testing.T) {
	e := newEnv(t)
	h := hubconfig.Default("open")
	h.AnonymousConnectPolicy = hubconfig.AnonymousAllow
	e.hubs.Set(h)
	c := e.dial("ws://"+e.base.Host+"/client/hubs/open", protocol.JSONName)
	if m := c.readJSON(); m["event"] != "connected" || m["userId"] != nil {
		t.Fatalf("anonymous connect = %v", m)
	}
	if status, _ := e.refused("ws://"+e.base.Host+"/client/hubs/closed", protocol.JSONName); status != http.StatusUnauthorized {
		t.Fatalf("deny policy: status %d", status)
	}
}

func TestHubNotReadyRefusesConnections(t *testing.T) {
	e := newEnv(t)
	h := hubconfig.Default("chat")
	h.Ready, h.NotReadyMessage = false, "event handler http://x/validate: connection refused"
	e.hubs.Set(h)
	status, body := e.refused(e.url("chat", e.token("chat", "u", nil, nil)), protocol.JSONName)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "connection refused") {
		t.Fatalf("got %d %q", status, body)
	}
}

func TestTokenGroupsJoinedOnConnect(t *testing.T) {
	e := newEnv(t)
	member := e.dialJSON("chat", "m", nil, []string{"g1", "g2"})
	sender := e.dialJSON("chat", "s", []string{"webpubsub.sendToGroup"}, nil)
	if a := sender.ack(map[string]any{"type": "sendToGroup", "group": "g2", "ackId": 1, "dataType": "text", "data": "hi"}); a["success"] != true {
		t.Fatalf("ack = %v", a)
	}
	m := member.readJSON()
	if m["group"] != "g2" || m["data"] != "hi" || m["fromUserId"] != "s" {
		t.Fatalf("message = %v", m)
	}
}
