package rest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/protocol"
)

// TestContentTypes checks how a message's Content-Type becomes the payload type.
func TestContentTypes(t *testing.T) {
	tests := []struct {
		contentType string
		body        string
		want        protocol.DataType
	}{
		{"text/plain", "hi", protocol.Text},
		{"text/plain; charset=utf-8", "hi", protocol.Text},
		{"application/json", `"hi"`, protocol.JSONData},
		{"Application/JSON; charset=utf-8", `[1,2]`, protocol.JSONData},
		{"text/json", `{}`, protocol.JSONData},
		{"application/octet-stream", "\x00\xff", protocol.Binary},
		{"", "raw", protocol.Binary},
		{"text/plain", "", protocol.Text},
	}
	for _, tt := range tests {
		t.Run(tt.contentType+"/"+tt.body, func(t *testing.T) {
			e := newEnv(t)
			r := e.send(req{method: http.MethodPost, target: "/api/hubs/h/:send?" + v, contentType: tt.contentType, body: tt.body})
			if r.status != http.StatusAccepted {
				t.Fatalf("status = %d, body %s", r.status, r.body)
			}
			calls := e.svc.recorded()
			if len(calls) != 1 {
				t.Fatalf("calls = %+v", calls)
			}
			if p := calls[0].Payload; p.Type != tt.want || string(p.Data) != tt.body {
				t.Errorf("payload = %v %q, want %v %q", p.Type, p.Data, tt.want, tt.body)
			}
		})
	}
}

// TestEscapedIDs checks that IDs and groups holding "/", spaces, "%", ":" and unicode reach the Service
// unescaped, on every kind of path segment.
func TestEscapedIDs(t *testing.T) {
	ids := []string{"a/b", "with space", "100%", "ünïcødé/用户", "x:send", "a+b", "?&#"}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			e := newEnv(t)
			esc := url.PathEscape(id)
			for _, tc := range []struct {
				method, target string
				check          func(c call) bool
			}{
				{http.MethodPost, "/api/hubs/h/users/" + esc + "/:send", func(c call) bool { return c.Target == id }},
				{http.MethodPost, "/api/hubs/h/connections/" + esc + "/:send", func(c call) bool { return c.Target == id }},
				{http.MethodPost, "/api/hubs/h/groups/" + esc + "/:send", func(c call) bool { return c.Target == id }},
				{http.MethodPut, "/api/hubs/h/users/" + esc + "/groups/" + esc, func(c call) bool { return c.Target == id && c.Group == id }},
				{http.MethodDelete, "/api/hubs/h/groups/" + esc + "/connections/" + esc, func(c call) bool { return c.Target == id && c.Group == id }},
				{http.MethodPut, "/api/hubs/h/permissions/sendToGroup/connections/" + esc + "?targetName=" + url.QueryEscape(id),
					func(c call) bool { return c.Target == id && c.Group == id }},
			} {
				before := len(e.svc.recorded())
				r := e.send(req{method: tc.method, target: tc.target, body: "x"})
				if r.status >= 300 {
					t.Errorf("%s %s: status %d, body %s", tc.method, tc.target, r.status, r.body)
					continue
				}
				calls := e.svc.recorded()
				if len(calls) != before+1 || !tc.check(calls[before]) {
					t.Errorf("%s %s: Service call %+v", tc.method, tc.target, calls[before:])
				}
			}
		})
	}
}

// BenchmarkSendToAll measures the handler's own cost for a 1 KiB message: routing, token verification,
// parameter parsing and reading the body.
func BenchmarkSendToAll(b *testing.B) {
	svc := &fakeService{}
	keys := auth.NewKeySet(testKey, "")
	h := New(Options{Service: svc, Verifier: &auth.Verifier{Keys: keys}, Keys: keys})
	const target = "http://wps.example.com/api/hubs/h/:send?api-version=2024-12-01&excluded=c1"
	tok, err := auth.IssueRESTToken(testKey, target, 0)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(strings.Repeat("x", 1024))
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("Content-Type", "text/plain")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		svc.reset()
	}
	b.SetBytes(int64(len(body)))
}
