package upstream

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// ceHeaders keeps the headers an event handler reads: every ce-*, Content-Type,
// WebHook-Request-Origin and Authorization.
func ceHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "ce-") || lk == "content-type" || lk == "webhook-request-origin" || lk == "authorization" {
			out[lk] = strings.Join(v, "|")
		}
	}
	return out
}

func TestEventsCarryExactHeadersAndBodies(t *testing.T) {
	const sig = "sha256=7767effcb3946f3e1de039df4b986ef02c110b1469d02c0a06f41b3b727ab561," +
		"sha256=d4aefb65547a00a9881fa8ac8bd03d0faf77af9da5205d45c6e57cbda4377760"
	common := func(typ, event string, id string) map[string]string {
		return map[string]string{
			"ce-specversion":         "1.0",
			"ce-type":                typ,
			"ce-source":              "/hubs/chat/client/" + testConnID,
			"ce-id":                  id,
			"ce-time":                "2024-05-06T07:08:09Z",
			"ce-awpsversion":         "1.0",
			"ce-hub":                 "chat",
			"ce-eventname":           event,
			"ce-connectionid":        testConnID,
			"ce-userid":              "user1",
			"ce-signature":           sig,
			"webhook-request-origin": testOrigin,
		}
	}
	with := func(m map[string]string, kv ...string) map[string]string {
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name     string
		send     func(c *Client, tmpl string, conn Conn) error
		wantPath string
		want     map[string]string
		wantBody string
	}{{
		name: "connect has no ce-connectionState even when the connection has state",
		send: func(c *Client, tmpl string, conn Conn) error {
			conn.State = "c3RhdGU="
			_, err := c.Connect(t.Context(), testHub(allEvents(tmpl)), conn, ConnectRequest{
				Claims:       map[string][]string{"sub": {"user1"}},
				Query:        map[string][]string{"access_token": {"x"}},
				Headers:      map[string][]string{"Upgrade": {"websocket"}},
				Subprotocols: []string{"json.webpubsub.azure.v1"},
			})
			return err
		},
		wantPath: "/api/chat/connect",
		want: with(common("azure.webpubsub.sys.connect", "connect", "0"),
			"content-type", "application/json; charset=utf-8"),
		wantBody: `{"claims":{"sub":["user1"]},"query":{"access_token":["x"]},"headers":{"Upgrade":["websocket"]},` +
			`"subprotocols":["json.webpubsub.azure.v1"],"clientCertificates":[]}`,
	}, {
		name: "connect with nothing sends empty maps and lists",
		send: func(c *Client, tmpl string, conn Conn) error {
			_, err := c.Connect(t.Context(), testHub(allEvents(tmpl)), conn, ConnectRequest{})
			return err
		},
		wantPath: "/api/chat/connect",
		want: with(common("azure.webpubsub.sys.connect", "connect", "0"),
			"content-type", "application/json; charset=utf-8"),
		wantBody: `{"claims":{},"query":{},"headers":{},"subprotocols":[],"clientCertificates":[]}`,
	}, {
		name: "connected",
		send: func(c *Client, tmpl string, conn Conn) error {
			conn.Subprotocol = "json.webpubsub.azure.v1"
			conn.State = "c3RhdGU="
			c.Connected(testHub(allEvents(tmpl)), conn)
			return nil
		},
		wantPath: "/api/chat/connected",
		want: with(common("azure.webpubsub.sys.connected", "connected", "0"),
			"content-type", "application/json; charset=utf-8",
			"ce-subprotocol", "json.webpubsub.azure.v1",
			"ce-connectionstate", "c3RhdGU="),
		wantBody: `{}`,
	}, {
		name: "disconnected of an anonymous connection",
		send: func(c *Client, tmpl string, conn Conn) error {
			conn.UserID = ""
			c.Disconnected(testHub(allEvents(tmpl)), conn, `closed by "client"`)
			return nil
		},
		wantPath: "/api/chat/disconnected",
		want: with(common("azure.webpubsub.sys.disconnected", "disconnected", "0"),
			"content-type", "application/json; charset=utf-8",
			"ce-userid", ""),
		wantBody: `{"reason":"closed by \"client\""}`,
	}, {
		name: "user event",
		send: func(c *Client, tmpl string, conn Conn) error {
			conn.State = "c3RhdGU="
			_, err := c.UserEvent(t.Context(), testHub(allEvents(tmpl)), conn, "chat.send", "application/json", []byte(`{"a":1}`))
			return err
		},
		wantPath: "/api/chat/chat.send",
		want: with(common("azure.webpubsub.user.chat.send", "chat.send", "0"),
			"content-type", "application/json",
			"ce-connectionstate", "c3RhdGU="),
		wantBody: `{"a":1}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, nil)
			c := newTestClient(t, Options{})
			if err := tt.send(c, u.URL+"/api/{hub}/{event}", testConn()); err != nil {
				t.Fatal(err)
			}
			got := u.next(t)
			if got.Method != http.MethodPost || got.Path != tt.wantPath {
				t.Errorf("request %s %s, want POST %s", got.Method, got.Path, tt.wantPath)
			}
			if h := ceHeaders(got.Header); !maps.Equal(h, tt.want) {
				for _, k := range slices.Sorted(maps.Keys(h)) {
					if h[k] != tt.want[k] {
						t.Errorf("header %s = %q, want %q", k, h[k], tt.want[k])
					}
				}
				for _, k := range slices.Sorted(maps.Keys(tt.want)) {
					if _, ok := h[k]; !ok {
						t.Errorf("header %s missing, want %q", k, tt.want[k])
					}
				}
			}
			if string(got.Body) != tt.wantBody {
				t.Errorf("body %s, want %s", got.Body, tt.wantBody)
			}
		})
	}
}

func TestUserEventForwardsContentTypes(t *testing.T) {
	// PROTOCOL.md §6.4: the content type comes from the client frame; empty means binary.
	tests := []struct{ give, want string }{
		{"text/plain", "text/plain"},
		{"application/json", "application/json"},
		{"application/octet-stream", "application/octet-stream"},
		{"application/x-protobuf", "application/x-protobuf"},
		{"", "application/octet-stream"},
	}
	u := newUpstream(t, nil)
	c := newTestClient(t, Options{})
	hub := testHub(allEvents(u.URL + "/{event}"))
	for _, tt := range tests {
		body := []byte("data for " + tt.give)
		if _, err := c.UserEvent(t.Context(), hub, testConn(), "message", tt.give, body); err != nil {
			t.Fatal(err)
		}
		got := u.next(t)
		if ct := got.Header.Get("Content-Type"); ct != tt.want {
			t.Errorf("content type %q sent as %q, want %q", tt.give, ct, tt.want)
		}
		if string(got.Body) != string(body) {
			t.Errorf("body %q, want %q", got.Body, body)
		}
	}
}

func TestEventsWithoutKeysHaveNoSignature(t *testing.T) {
	u := newUpstream(t, nil)
	c := New(Options{Origin: func() string { return testOrigin }})
	t.Cleanup(func() { _ = c.Close(t.Context()) })
	if _, err := c.UserEvent(t.Context(), testHub(allEvents(u.URL)), testConn(), "message", "", nil); err != nil {
		t.Fatal(err)
	}
	if got := u.next(t); got.Header.Get("ce-signature") != "" {
		t.Errorf("ce-signature %q sent without keys", got.Header.Get("ce-signature"))
	}
}
