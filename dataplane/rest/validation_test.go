package rest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBadRequests checks every 400: the error shape, the parameter named as target and in the message,
// and that the Service is not called.
func TestBadRequests(t *testing.T) {
	longGroup := strings.Repeat("g", 1025)
	manyExcluded := strings.Repeat("&excluded=c", MaxExcluded+1)
	manyGroups := `{"groups":[` + strings.TrimSuffix(strings.Repeat(`"g",`, MaxBulkGroups+1), ",") + `]}`
	manyRoles := strings.Repeat("&role=r", MaxTokenRoles+1)
	tests := []struct {
		name        string
		req         req
		target, msg string
	}{
		{"hub starting with a digit", req{method: http.MethodPost, target: "/api/hubs/1hub/:send?" + v}, "hub", "hub name"},
		{"hub with a dash", req{method: http.MethodHead, target: "/api/hubs/my-hub/users/u1?" + v}, "hub", "(Parameter 'hub')"},
		{"hub of 129 characters", req{method: http.MethodPost, target: "/api/hubs/" + strings.Repeat("h", 129) + "/:closeConnections?" + v}, "hub", "hub name"},
		{"group of white space", req{method: http.MethodPost, target: "/api/hubs/h/groups/%20%09/:send?" + v}, "group", "(Parameter 'group')"},
		{"group of 1025 characters", req{method: http.MethodHead, target: "/api/hubs/h/groups/" + longGroup + "?" + v}, "group", "1024"},
		{"user ID too long", req{method: http.MethodHead, target: "/api/hubs/h/users/" + strings.Repeat("u", MaxIDBytes+1) + "?" + v}, "userId", "(Parameter 'userId')"},
		{"unknown api-version", req{method: http.MethodPost, target: "/api/hubs/h/:send?api-version=2099-01-01"}, "api-version", "2024-12-01"},
		{"malformed query", req{method: http.MethodPost, target: "/api/hubs/h/:send?" + v + "&filter=%zz", audNoQuery: true}, "", "query string"},
		{"messageTtlSeconds over 300", req{method: http.MethodPost, target: "/api/hubs/h/:send?" + v + "&messageTtlSeconds=301"}, "messageTtlSeconds", "0 to 300"},
		{"messageTtlSeconds negative", req{method: http.MethodPost, target: "/api/hubs/h/users/u/:send?" + v + "&messageTtlSeconds=-1"}, "messageTtlSeconds", "0 to 300"},
		{"messageTtlSeconds not a number", req{method: http.MethodPost, target: "/api/hubs/h/connections/c/:send?" + v + "&messageTtlSeconds=ten"}, "messageTtlSeconds", "integer"},
		{"filter syntax", req{method: http.MethodPost, target: "/api/hubs/h/:send?" + v + "&filter=" + url.QueryEscape("userId eq")}, "filter", "(Parameter 'filter')"},
		{"filter type", req{method: http.MethodPost, target: "/api/hubs/h/groups/g/:send?" + v + "&filter=" + url.QueryEscape("not length(userId)")}, "filter", "Invalid syntax for 'not length(userId)'"},
		{"too many excluded", req{method: http.MethodPost, target: "/api/hubs/h/:closeConnections?" + v + manyExcluded, audNoQuery: true}, "excluded", "1000"},
		{"reason too long", req{method: http.MethodDelete, target: "/api/hubs/h/connections/c?" + v + "&reason=" + strings.Repeat("r", MaxReasonBytes+1)}, "reason", "1024 bytes"},
		{"invalid JSON message", req{method: http.MethodPost, target: "/api/hubs/h/:send?" + v, contentType: "application/json", body: `{"a":`}, "message", "not valid JSON"},
		{"empty JSON message", req{method: http.MethodPost, target: "/api/hubs/h/:send?" + v, contentType: "application/json"}, "message", "not valid JSON"},
		{"unknown permission", req{method: http.MethodPut, target: "/api/hubs/h/permissions/sendToAll/connections/c?" + v}, "permission", "sendToGroup or joinLeaveGroup"},
		{"targetName of white space", req{method: http.MethodHead, target: "/api/hubs/h/permissions/sendToGroup/connections/c?" + v + "&targetName=%20"}, "targetName", "(Parameter 'targetName')"},
		{"maxpagesize 0", req{method: http.MethodGet, target: "/api/hubs/h/groups/g/connections?" + v + "&maxpagesize=0"}, "maxpagesize", "1 to 200"},
		{"maxpagesize 201", req{method: http.MethodGet, target: "/api/hubs/h/groups/g/connections?" + v + "&maxpagesize=201"}, "maxpagesize", "1 to 200"},
		{"top 0", req{method: http.MethodGet, target: "/api/hubs/h/groups/g/connections?" + v + "&top=0"}, "top", "(Parameter 'top')"},
		{"continuationToken not base64", req{method: http.MethodGet, target: "/api/hubs/h/groups/g/connections?" + v + "&continuationToken=%2A%2A"}, "continuationToken", "not valid"},
		{"continuationToken without a cursor", req{method: http.MethodGet, target: "/api/hubs/h/groups/g/connections?" + v + "&continuationToken=" + pageCursor{}.encode()}, "continuationToken", "not valid"},
		{"minutesToExpire 0", req{method: http.MethodPost, target: "/api/hubs/h/:generateToken?" + v + "&minutesToExpire=0"}, "minutesToExpire", "(Parameter 'minutesToExpire')"},
		{"clientType MQTT", req{method: http.MethodPost, target: "/api/hubs/h/:generateToken?" + v + "&clientType=mqtt"}, "clientType", "MQTT is not supported"},
		{"clientType SocketIO", req{method: http.MethodPost, target: "/api/hubs/h/:generateToken?" + v + "&clientType=SocketIO"}, "clientType", "must be Default"},
		{"token group of white space", req{method: http.MethodPost, target: "/api/hubs/h/:generateToken?" + v + "&group=%20"}, "group", "(Parameter 'group')"},
		{"too many token roles", req{method: http.MethodPost, target: "/api/hubs/h/:generateToken?" + v + manyRoles, audNoQuery: true}, "role", "100 roles"},
		{"empty token role", req{method: http.MethodPost, target: "/api/hubs/h/:generateToken?" + v + "&role="}, "role", "(Parameter 'role')"},
		{"token over 8 KiB", req{method: http.MethodPost, target: "/api/hubs/h/:generateToken?" + v + strings.Repeat("&role="+strings.Repeat("r", 1000), 10), audNoQuery: true}, "role", "longer than 8192 bytes"},
		{"addToGroups body not JSON", req{method: http.MethodPost, target: "/api/hubs/h/:addToGroups?" + v, body: "groups=g1"}, "body", "JSON object"},
		{"addToGroups without groups", req{method: http.MethodPost, target: "/api/hubs/h/:addToGroups?" + v, body: `{"filter":""}`}, "groups", "At least one group"},
		{"addToGroups with too many groups", req{method: http.MethodPost, target: "/api/hubs/h/:addToGroups?" + v, body: manyGroups}, "groups", "At most 100"},
		{"addToGroups with a blank group", req{method: http.MethodPost, target: "/api/hubs/h/:addToGroups?" + v, body: `{"groups":["g1","  "]}`}, "groups", "(Parameter 'groups')"},
		{"removeFromGroups with a null group", req{method: http.MethodPost, target: "/api/hubs/h/:removeFromGroups?" + v, body: `{"groups":[null]}`}, "groups", "(Parameter 'groups')"},
		{"removeFromGroups with a bad filter", req{method: http.MethodPost, target: "/api/hubs/h/:removeFromGroups?" + v, body: `{"groups":["g"],"filter":"groups eq 1"}`}, "filter", "(Parameter 'filter')"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.send(tt.req)
			wantError(t, r, http.StatusBadRequest, CodeBadRequest, tt.target, tt.msg)
			if calls := e.svc.recorded(); len(calls) != 0 {
				t.Errorf("the Service was called: %+v", calls)
			}
		})
	}
}

// TestOtherErrors checks the non-400 errors of the edge: unknown paths, wrong methods, unsupported
// content types, oversize bodies and queries.
func TestOtherErrors(t *testing.T) {
	big := strings.Repeat("x", MaxBodyBytes+1)
	tests := []struct {
		name         string
		req          req
		status       int
		code, target string
		msg          string
		allow        string
	}{
		{"unknown path", req{method: http.MethodGet, target: "/api/hubs/h/nothing?" + v}, http.StatusNotFound, CodeNotFound, "", "No REST operation", ""},
		{"unknown operation", req{method: http.MethodPost, target: "/api/hubs/h/:broadcast?" + v}, http.StatusNotFound, CodeNotFound, "", "No REST operation", ""},
		{"GET on a send", req{method: http.MethodGet, target: "/api/hubs/h/:send?" + v}, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "POST", "POST"},
		{"POST on a connection", req{method: http.MethodPost, target: "/api/hubs/h/connections/c?" + v}, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "HEAD, DELETE", "HEAD, DELETE"},
		{"DELETE on the member list", req{method: http.MethodDelete, target: "/api/hubs/h/groups/g/connections?" + v}, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "GET, HEAD", "GET, HEAD"},
		{"GET on health", req{method: http.MethodGet, target: "/api/health"}, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "HEAD", "HEAD"},
		{"XML message", req{method: http.MethodPost, target: "/api/hubs/h/:send?" + v, contentType: "application/xml", body: "<a/>"}, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "Content-Type", "text/plain", ""},
		{"protobuf message", req{method: http.MethodPost, target: "/api/hubs/h/groups/g/:send?" + v, contentType: "application/x-protobuf", body: "x"}, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "Content-Type", "application/octet-stream", ""},
		{"message over 1 MiB", req{method: http.MethodPost, target: "/api/hubs/h/:send?" + v, contentType: "text/plain", body: big}, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "", "1048576", ""},
		{"chunked message over 1 MiB", req{method: http.MethodPost, target: "/api/hubs/h/users/u/:send?" + v, body: big, chunked: true}, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "", "1048576", ""},
		{"addToGroups body over 1 MiB", req{method: http.MethodPost, target: "/api/hubs/h/:addToGroups?" + v, body: big}, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "", "1048576", ""},
		{"query over 64 KiB", req{method: http.MethodPost, target: "/api/hubs/h/:send?" + v + "&reason=" + strings.Repeat("r", MaxQueryBytes), audNoQuery: true}, http.StatusRequestURITooLong, CodeURITooLong, "", "64 KiB", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.send(tt.req)
			wantError(t, r, tt.status, tt.code, tt.target, tt.msg)
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
			if calls := e.svc.recorded(); len(calls) != 0 {
				t.Errorf("the Service was called: %+v", calls)
			}
		})
	}
}

// TestAPIVersions checks that every published version, and none, is accepted.
func TestAPIVersions(t *testing.T) {
	e := newEnv(t)
	versions := append(APIVersions(), "", "2022-10-01-PREVIEW")
	for _, ver := range versions {
		target := "/api/hubs/h/:closeConnections"
		if ver != "" {
			target += "?api-version=" + ver
		}
		if r := e.send(req{method: http.MethodPost, target: target}); r.status != http.StatusNoContent {
			t.Errorf("api-version %q: status %d, body %s", ver, r.status, r.body)
		}
	}
	if n := len(e.svc.recorded()); n != len(versions) {
		t.Errorf("%d Service calls, want %d", n, len(versions))
	}
	r := e.send(req{method: http.MethodPost, target: "/api/hubs/h/:closeConnections?api-version=2021-13-01"})
	for _, ver := range APIVersions() {
		if !strings.Contains(string(r.body), ver) {
			t.Errorf("the 400 for an unknown version does not list %s: %s", ver, r.body)
		}
	}
}
