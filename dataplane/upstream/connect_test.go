package upstream

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestConnectResponses(t *testing.T) {
	type respond struct {
		status int
		header map[string][]string
		body   string
		delay  time.Duration
	}
	tests := []struct {
		name       string
		respond    respond
		want       *ConnectResponse
		wantStatus *StatusError // a 4xx relayed to the client
		wantErr    string       // any other error
	}{
		{name: "204 changes nothing", respond: respond{status: 204}, want: &ConnectResponse{}},
		{name: "empty 200 changes nothing (express success())", respond: respond{status: 200}, want: &ConnectResponse{}},
		{name: "null 200 changes nothing", respond: respond{status: 200, body: "null"}, want: &ConnectResponse{}},
		{
			name: "200 sets every field",
			respond: respond{status: 200, header: map[string][]string{"Content-Type": {"application/json"}},
				body: `{"userId":"u2","groups":["g1","g2"],"roles":["webpubsub.joinLeaveGroup"],"subprotocol":"json.webpubsub.azure.v1"}`},
			want: &ConnectResponse{UserID: ptr("u2"), Groups: &[]string{"g1", "g2"}, Roles: &[]string{"webpubsub.joinLeaveGroup"}, Subprotocol: "json.webpubsub.azure.v1"},
		},
		{
			name:    "partial 200: present fields replace, absent ones keep",
			respond: respond{status: 200, body: `{"groups":[],"userId":null,"extra":1}`},
			want:    &ConnectResponse{Groups: &[]string{}},
		},
		{
			name:    "ce-connectionState sets the state",
			respond: respond{status: 204, header: map[string][]string{"ce-connectionState": {"eyJhIjoxfQ=="}}},
			want:    &ConnectResponse{State: ptr("eyJhIjoxfQ==")},
		},
		{
			name:    "an empty ce-connectionState clears the state",
			respond: respond{status: 200, header: map[string][]string{"ce-connectionState": {""}}, body: `{"userId":"u"}`},
			want:    &ConnectResponse{UserID: ptr("u"), State: ptr("")},
		},
		{name: "400 is relayed", respond: respond{status: 400, body: "bad request detail"}, wantStatus: &StatusError{Code: 400, Body: "bad request detail"}},
		{name: "401 is relayed", respond: respond{status: 401}, wantStatus: &StatusError{Code: 401}},
		{name: "500 rejects", respond: respond{status: 500, body: "boom"}, wantErr: "connect answered 500 Internal Server Error"},
		{name: "garbage JSON rejects", respond: respond{status: 200, body: `{"userId":`}, wantErr: "not valid JSON"},
		{name: "wrong JSON types reject", respond: respond{status: 200, body: `{"groups":"g1"}`}, wantErr: "not valid JSON"},
		{name: "an oversized body rejects", respond: respond{status: 200, body: `{"userId":"` + strings.Repeat("a", MaxResponseBytes) + `"}`}, wantErr: "too large"},
		{
			name:    "two ce-connectionState headers reject",
			respond: respond{status: 204, header: map[string][]string{"ce-connectionState": {"a", "b"}}},
			wantErr: "more than one ce-connectionState",
		},
		{name: "a slow handler times out", respond: respond{status: 204, delay: 3 * time.Second}, wantErr: "timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.respond.delay > 0 {
					select {
					case <-time.After(tt.respond.delay):
					case <-r.Context().Done():
						return
					}
				}
				for k, v := range tt.respond.header {
					w.Header()[http.CanonicalHeaderKey(k)] = v
				}
				w.WriteHeader(tt.respond.status)
				_, _ = w.Write([]byte(tt.respond.body))
			})
			c := newTestClient(t, Options{ConnectTimeout: 200 * time.Millisecond})
			start := time.Now()
			got, err := c.Connect(t.Context(), testHub(allEvents(u.URL+"/{event}")), testConn(), ConnectRequest{})
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("Connect took %s, its timeout is 200ms", elapsed)
			}
			var se *StatusError
			isStatus := errors.As(err, &se)
			switch {
			case tt.wantStatus != nil:
				if !isStatus || *se != *tt.wantStatus {
					t.Fatalf("err = %#v, want %#v", err, tt.wantStatus)
				}
			case tt.wantErr != "":
				if err == nil || isStatus || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a non-status error containing %q", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("response = %s, want %s", dump(got), dump(tt.want))
				}
			}
		})
	}
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestConnectWithoutHandlerAccepts(t *testing.T) {
	u := newUpstream(t, nil)
	c := newTestClient(t, Options{})
	h := allEvents(u.URL)
	h.SystemEvents = []string{"connected"}
	got, err := c.Connect(t.Context(), testHub(h), testConn(), ConnectRequest{})
	if err != nil || !reflect.DeepEqual(got, &ConnectResponse{}) {
		t.Fatalf("Connect = %s, %v; want an empty response", dump(got), err)
	}
	if n := len(u.requests()); n != 0 {
		t.Errorf("%d requests sent without a connect handler", n)
	}
}

func TestNoEventToAHubThatIsNotReady(t *testing.T) {
	u := newUpstream(t, nil)
	c := newTestClient(t, Options{})
	hub := testHub(allEvents(u.URL))
	hub.Ready = false
	if _, err := c.Connect(t.Context(), hub, testConn(), ConnectRequest{}); !errors.Is(err, ErrHubNotReady) {
		t.Errorf("Connect: %v, want ErrHubNotReady", err)
	}
	if _, err := c.UserEvent(t.Context(), hub, testConn(), "message", "", nil); !errors.Is(err, ErrHubNotReady) {
		t.Errorf("UserEvent: %v, want ErrHubNotReady", err)
	}
	c.Connected(hub, testConn())
	if s := c.Stats(); s.Dropped != 1 {
		t.Errorf("Connected to a hub that is not ready: %+v, want 1 dropped", s)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(u.requests()); n != 0 {
		t.Errorf("%d requests went to an unvalidated handler", n)
	}
}

func FuzzParseConnectResponse(f *testing.F) {
	f.Add([]byte(`{"userId":"u","groups":["a"],"roles":[],"subprotocol":"json.webpubsub.azure.v1"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(` `))
	f.Add([]byte(`{"groups":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseConnectResponse(body)
		if err != nil {
			return
		}
		if got == nil {
			t.Fatal("nil response without an error")
		}
		// What was parsed survives a round trip through the JSON it came from.
		var v connectResponseJSON
		if len(strings.TrimSpace(string(body))) > 0 && json.Unmarshal(body, &v) != nil {
			t.Fatalf("accepted %q, which is not a connect response", body)
		}
		if (got.UserID == nil) != (v.UserID == nil) || (got.Groups == nil) != (v.Groups == nil) {
			t.Fatalf("presence of fields changed for %q", body)
		}
	})
}
