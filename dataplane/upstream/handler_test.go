package upstream

import (
	"testing"

	"github.com/kwps/kwps/dataplane/hubconfig"
)

func TestFindHandler(t *testing.T) {
	hub := testHub(
		hubconfig.EventHandler{URLTemplate: "http://a/", UserEventPattern: "chat, join", SystemEvents: []string{"connected"}},
		hubconfig.EventHandler{URLTemplate: "http://b/", UserEventPattern: "*", SystemEvents: []string{"connect", "connected"}},
		hubconfig.EventHandler{URLTemplate: "http://c/", SystemEvents: []string{"disconnected"}},
	)
	tests := []struct {
		event  string
		system bool
		want   string // URL of the handler, "" for none
	}{
		{"chat", false, "http://a/"},
		{"JOIN", false, "http://a/"}, // case-insensitive, names trimmed
		{"other", false, "http://b/"},
		{"message", false, "http://b/"},
		{"connect", true, "http://b/"},
		{"connected", true, "http://a/"}, // first match wins
		{"disconnected", true, "http://c/"},
		{"connect", false, "http://b/"}, // a user event named like a system event is a user event
	}
	for _, tt := range tests {
		got := FindHandler(hub, tt.event, tt.system)
		gotURL := ""
		if got != nil {
			gotURL = got.URLTemplate
		}
		if gotURL != tt.want {
			t.Errorf("FindHandler(%q, system=%v) = %q, want %q", tt.event, tt.system, gotURL, tt.want)
		}
	}
	noUser := testHub(hubconfig.EventHandler{URLTemplate: "http://a/", SystemEvents: []string{"connect"}})
	if got := FindHandler(noUser, "message", false); got != nil {
		t.Errorf("a handler without userEventPattern got user event message")
	}
	if got := FindHandler(noUser, "disconnected", true); got != nil {
		t.Errorf("a handler without disconnected got it")
	}
	if got := FindHandler(nil, "connect", true); got != nil {
		t.Errorf("a nil hub has a handler")
	}
}
