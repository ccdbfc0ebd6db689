package rest

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kwps/kwps/dataplane/gateway"
	"github.com/kwps/kwps/dataplane/protocol"
)

const v = "api-version=2024-12-01"

// TestOperations drives each of the 25 operations over HTTP and checks the Service call it makes, with
// its arguments, and the status the SDKs expect.
func TestOperations(t *testing.T) {
	text := func(s string) *protocol.Payload { return &protocol.Payload{Type: protocol.Text, Data: []byte(s)} }
	filterU1 := "userId eq 'u1'"
	tests := []struct {
		name   string
		req    req
		setup  func(*fakeService)
		want   []call // nil: no Service call
		status int
		body   string // exact response body when not empty
	}{
		{
			name:   "1 health needs no token",
			req:    req{method: http.MethodHead, target: "/api/health?" + v, token: ptr("")},
			status: http.StatusOK,
		},
		{
			name: "2 sendToAll",
			req: req{method: http.MethodPost, contentType: "text/plain", body: "hello",
				target: "/api/hubs/MyHub/:send?" + v + "&excluded=c1&excluded=c2&filter=userId%20eq%20%27u1%27&messageTtlSeconds=30"},
			want: []call{{Method: "SendToAll", Hub: "myhub", Payload: text("hello"), Excluded: []string{"c1", "c2"},
				Filter: filterU1, TTL: 30 * time.Second}},
			status: http.StatusAccepted,
		},
		{
			name: "3 sendToUser",
			req: req{method: http.MethodPost, contentType: "application/json", body: `{"a":1}`,
				target: "/api/hubs/hub1/users/u1/:send?" + v + "&filter=userId%20eq%20%27u1%27&messageTtlSeconds=300"},
			want: []call{{Method: "SendToUser", Hub: "hub1", Target: "u1",
				Payload: &protocol.Payload{Type: protocol.JSONData, Data: []byte(`{"a":1}`)}, Filter: filterU1, TTL: 300 * time.Second}},
			status: http.StatusAccepted,
		},
		{
			name: "4 sendToConnection",
			req: req{method: http.MethodPost, contentType: "application/octet-stream", body: "\x00\x01\xff",
				target: "/api/hubs/hub1/connections/c1/:send?" + v + "&messageTtlSeconds=0"},
			want: []call{{Method: "SendToConnection", Hub: "hub1", Target: "c1",
				Payload: &protocol.Payload{Type: protocol.Binary, Data: []byte("\x00\x01\xff")}}},
			status: http.StatusAccepted,
		},
		{
			name: "5 sendToGroup",
			req: req{method: http.MethodPost, contentType: "text/plain", body: "hi",
				target: "/api/hubs/hub1/groups/g1/:send?" + v + "&excluded=c1&filter=userId%20eq%20%27u1%27"},
			want:   []call{{Method: "SendToGroup", Hub: "hub1", Target: "g1", Payload: text("hi"), Excluded: []string{"c1"}, Filter: filterU1}},
			status: http.StatusAccepted,
		},
		{
			name:   "6 connectionExists: yes",
			req:    req{method: http.MethodHead, target: "/api/hubs/hub1/connections/c1?" + v},
			setup:  func(f *fakeService) { f.exists = true },
			want:   []call{{Method: "ConnectionExists", Hub: "hub1", Target: "c1"}},
			status: http.StatusOK,
		},
		{
			name:   "6 connectionExists: no",
			req:    req{method: http.MethodHead, target: "/api/hubs/hub1/connections/c1?" + v},
			want:   []call{{Method: "ConnectionExists", Hub: "hub1", Target: "c1"}},
			status: http.StatusNotFound,
		},
		{
			name:   "7 closeConnection",
			req:    req{method: http.MethodDelete, target: "/api/hubs/hub1/connections/c1?" + v + "&reason=bye%20now"},
			want:   []call{{Method: "CloseConnection", Hub: "hub1", Target: "c1", Reason: "bye now"}},
			status: http.StatusNoContent,
		},
		{
			name:   "7 closeConnection of a connection already gone",
			req:    req{method: http.MethodDelete, target: "/api/hubs/hub1/connections/c1?" + v},
			setup:  func(f *fakeService) { f.err = gateway.ErrConnectionNotFound },
			want:   []call{{Method: "CloseConnection", Hub: "hub1", Target: "c1"}},
			status: http.StatusNoContent,
		},
		{
			name:   "8 removeConnectionFromAllGroups",
			req:    req{method: http.MethodDelete, target: "/api/hubs/hub1/connections/c1/groups?" + v},
			want:   []call{{Method: "RemoveConnectionFromAllGroups", Hub: "hub1", Target: "c1"}},
			status: http.StatusNoContent,
		},
		{
			name:   "9 groupExists: yes",
			req:    req{method: http.MethodHead, target: "/api/hubs/hub1/groups/g1?" + v},
			setup:  func(f *fakeService) { f.exists = true },
			want:   []call{{Method: "GroupExists", Hub: "hub1", Target: "g1"}},
			status: http.StatusOK,
		},
		{
			name:   "9 groupExists: no",
			req:    req{method: http.MethodHead, target: "/api/hubs/hub1/groups/g1?" + v},
			want:   []call{{Method: "GroupExists", Hub: "hub1", Target: "g1"}},
			status: http.StatusNotFound,
		},
		{
			name:   "10 closeGroupConnections",
			req:    req{method: http.MethodPost, target: "/api/hubs/hub1/groups/g1/:closeConnections?" + v + "&excluded=c1&excluded=c2&reason=r"},
			want:   []call{{Method: "CloseGroupConnections", Hub: "hub1", Target: "g1", Excluded: []string{"c1", "c2"}, Reason: "r"}},
			status: http.StatusNoContent,
		},
		{
			name: "11 listConnectionsInGroup",
			req:  req{method: http.MethodGet, target: "/api/hubs/hub1/groups/g1/connections?" + v},
			setup: func(f *fakeService) {
				f.members = []gateway.ConnectionInfo{{ConnectionID: "a", UserID: "ua", HasUserID: true}, {ConnectionID: "b"}}
			},
			want:   []call{{Method: "ListGroupConnections", Hub: "hub1", Target: "g1", Limit: DefaultPageSize}},
			status: http.StatusOK,
			body:   `{"value":[{"connectionId":"a","userId":"ua"},{"connectionId":"b"}]}`,
		},
		{
			name:   "12 addConnectionToGroup",
			req:    req{method: http.MethodPut, target: "/api/hubs/hub1/groups/g1/connections/c1?" + v},
			want:   []call{{Method: "AddConnectionToGroup", Hub: "hub1", Target: "c1", Group: "g1"}},
			status: http.StatusOK,
		},
		{
			name:   "12 addConnectionToGroup of an unknown connection",
			req:    req{method: http.MethodPut, target: "/api/hubs/hub1/groups/g1/connections/c1?" + v},
			setup:  func(f *fakeService) { f.err = gateway.ErrConnectionNotFound },
			want:   []call{{Method: "AddConnectionToGroup", Hub: "hub1", Target: "c1", Group: "g1"}},
			status: http.StatusNotFound,
		},
		{
			name:   "13 removeConnectionFromGroup",
			req:    req{method: http.MethodDelete, target: "/api/hubs/hub1/groups/g1/connections/c1?" + v},
			want:   []call{{Method: "RemoveConnectionFromGroup", Hub: "hub1", Target: "c1", Group: "g1"}},
			status: http.StatusNoContent,
		},
		{
			name:   "14 userExists: yes",
			req:    req{method: http.MethodHead, target: "/api/hubs/hub1/users/u1?" + v},
			setup:  func(f *fakeService) { f.exists = true },
			want:   []call{{Method: "UserExists", Hub: "hub1", Target: "u1"}},
			status: http.StatusOK,
		},
		{
			name:   "14 userExists: no",
			req:    req{method: http.MethodHead, target: "/api/hubs/hub1/users/u1?" + v},
			want:   []call{{Method: "UserExists", Hub: "hub1", Target: "u1"}},
			status: http.StatusNotFound,
		},
		{
			name:   "15 closeUserConnections",
			req:    req{method: http.MethodPost, target: "/api/hubs/hub1/users/u1/:closeConnections?" + v + "&excluded=c9&reason=kicked"},
			want:   []call{{Method: "CloseUserConnections", Hub: "hub1", Target: "u1", Excluded: []string{"c9"}, Reason: "kicked"}},
			status: http.StatusNoContent,
		},
		{
			name:   "16 removeUserFromAllGroups",
			req:    req{method: http.MethodDelete, target: "/api/hubs/hub1/users/u1/groups?" + v},
			want:   []call{{Method: "RemoveUserFromAllGroups", Hub: "hub1", Target: "u1"}},
			status: http.StatusNoContent,
		},
		{
			name:   "17 addUserToGroup",
			req:    req{method: http.MethodPut, target: "/api/hubs/hub1/users/u1/groups/g1?" + v},
			want:   []call{{Method: "AddUserToGroup", Hub: "hub1", Target: "u1", Group: "g1"}},
			status: http.StatusOK,
		},
		{
			name:   "18 removeUserFromGroup",
			req:    req{method: http.MethodDelete, target: "/api/hubs/hub1/users/u1/groups/g1?" + v},
			want:   []call{{Method: "RemoveUserFromGroup", Hub: "hub1", Target: "u1", Group: "g1"}},
			status: http.StatusNoContent,
		},
		{
			name:   "19 closeAllConnections",
			req:    req{method: http.MethodPost, target: "/api/hubs/hub1/:closeConnections?" + v + "&excluded=c1&reason=maintenance"},
			want:   []call{{Method: "CloseAllConnections", Hub: "hub1", Excluded: []string{"c1"}, Reason: "maintenance"}},
			status: http.StatusNoContent,
		},
		{
			name:   "20 grantPermission with targetName",
			req:    req{method: http.MethodPut, target: "/api/hubs/hub1/permissions/sendToGroup/connections/c1?" + v + "&targetName=g1"},
			want:   []call{{Method: "GrantPermission", Hub: "hub1", Target: "c1", Perm: gateway.PermSendToGroup, Group: "g1"}},
			status: http.StatusOK,
		},
		{
			name:   "20 grantPermission without targetName applies to all groups",
			req:    req{method: http.MethodPut, target: "/api/hubs/hub1/permissions/joinLeaveGroup/connections/c1?" + v},
			want:   []call{{Method: "GrantPermission", Hub: "hub1", Target: "c1", Perm: gateway.PermJoinLeaveGroup}},
			status: http.StatusOK,
		},
		{
			name:   "20 grantPermission to an unknown connection",
			req:    req{method: http.MethodPut, target: "/api/hubs/hub1/permissions/sendToGroup/connections/c1?" + v},
			setup:  func(f *fakeService) { f.err = gateway.ErrConnectionNotFound },
			want:   []call{{Method: "GrantPermission", Hub: "hub1", Target: "c1", Perm: gateway.PermSendToGroup}},
			status: http.StatusNotFound,
		},
		{
			name:   "21 revokePermission",
			req:    req{method: http.MethodDelete, target: "/api/hubs/hub1/permissions/joinLeaveGroup/connections/c1?" + v + "&targetName=g2"},
			want:   []call{{Method: "RevokePermission", Hub: "hub1", Target: "c1", Perm: gateway.PermJoinLeaveGroup, Group: "g2"}},
			status: http.StatusNoContent,
		},
		{
			name:   "21 revokePermission on an unknown connection",
			req:    req{method: http.MethodDelete, target: "/api/hubs/hub1/permissions/joinLeaveGroup/connections/c1?" + v},
			setup:  func(f *fakeService) { f.err = gateway.ErrConnectionNotFound },
			want:   []call{{Method: "RevokePermission", Hub: "hub1", Target: "c1", Perm: gateway.PermJoinLeaveGroup}},
			status: http.StatusNotFound,
		},
		{
			name:   "22 checkPermission: granted",
			req:    req{method: http.MethodHead, target: "/api/hubs/hub1/permissions/sendToGroup/connections/c1?" + v + "&targetName=g1"},
			setup:  func(f *fakeService) { f.exists = true },
			want:   []call{{Method: "CheckPermission", Hub: "hub1", Target: "c1", Perm: gateway.PermSendToGroup, Group: "g1"}},
			status: http.StatusOK,
		},
		{
			name:   "22 checkPermission: not granted",
			req:    req{method: http.MethodHead, target: "/api/hubs/hub1/permissions/SENDTOGROUP/connections/c1?" + v},
			want:   []call{{Method: "CheckPermission", Hub: "hub1", Target: "c1", Perm: gateway.PermSendToGroup}},
			status: http.StatusNotFound,
		},
		{
			name:   "23 generateToken makes no Service call",
			req:    req{method: http.MethodPost, target: "/api/hubs/hub1/:generateToken?" + v + "&userId=u1"},
			status: http.StatusOK,
		},
		{
			name: "24 addConnectionsToGroups",
			req: req{method: http.MethodPost, target: "/api/hubs/hub1/:addToGroups?" + v, contentType: "application/json",
				body: `{"groups":["g1","g2"],"filter":"userId eq 'u1'"}`},
			want:   []call{{Method: "AddConnectionsToGroups", Hub: "hub1", Groups: []string{"g1", "g2"}, Filter: filterU1}},
			status: http.StatusOK,
		},
		{
			name: "24 addConnectionsToGroups without a filter: every connection",
			req: req{method: http.MethodPost, target: "/api/hubs/hub1/:addToGroups?" + v, contentType: "application/json",
				body: `{"groups":["g1"]}`},
			want:   []call{{Method: "AddConnectionsToGroups", Hub: "hub1", Groups: []string{"g1"}}},
			status: http.StatusOK,
		},
		{
			name: "25 removeConnectionsFromGroups",
			req: req{method: http.MethodPost, target: "/api/hubs/hub1/:removeFromGroups?" + v, contentType: "application/json",
				body: `{"groups":["g1"],"filter":"'g1' in groups"}`},
			want:   []call{{Method: "RemoveConnectionsFromGroups", Hub: "hub1", Groups: []string{"g1"}, Filter: "'g1' in groups"}},
			status: http.StatusOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(e.svc)
			}
			for i := range tt.want {
				if tt.want[i].Filter != "" {
					tt.want[i].Filter = canonFilter(t, tt.want[i].Filter)
				}
			}
			r := e.send(tt.req)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if got := e.svc.recorded(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Service calls:\n got %+v\nwant %+v", got, tt.want)
			}
			if tt.body != "" && string(r.body) != tt.body {
				t.Errorf("body = %s, want %s", r.body, tt.body)
			}
		})
	}
}

// TestObserve checks that every request is reported once, with its operation and final status.
func TestObserve(t *testing.T) {
	e := newEnv(t)
	e.send(req{method: http.MethodPost, target: "/api/hubs/hub1/:send?" + v, body: "x"})
	e.send(req{method: http.MethodPost, target: "/api/hubs/hub1/:send?" + v, token: ptr("")})
	e.send(req{method: http.MethodGet, target: "/api/hubs/hub1/:send?" + v})
	e.send(req{method: http.MethodGet, target: "/api/nothing"})
	want := []observation{
		{OpSendToAll, http.StatusAccepted},
		{OpSendToAll, http.StatusUnauthorized},
		{OpUnknown, http.StatusMethodNotAllowed},
		{OpUnknown, http.StatusNotFound},
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !reflect.DeepEqual(e.observed, want) {
		t.Errorf("observed %v, want %v", e.observed, want)
	}
}

// TestServiceFailure checks that a Service error is a 500 that does not leak the error's text.
func TestServiceFailure(t *testing.T) {
	e := newEnv(t)
	e.svc.err = errors.New("redis: connection refused to 10.0.0.7:6379")
	r := e.send(req{method: http.MethodPost, target: "/api/hubs/hub1/:closeConnections?" + v})
	wantError(t, r, http.StatusInternalServerError, CodeInternal, "", "could not complete")
	for _, secret := range []string{"redis", "10.0.0.7"} {
		if strings.Contains(string(r.body), secret) {
			t.Errorf("500 body leaks the cause (%q): %s", secret, r.body)
		}
	}
}
