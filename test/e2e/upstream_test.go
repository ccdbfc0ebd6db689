package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// upstreamEvent is one request an upstream received.
type upstreamEvent struct {
	Method, Path, Query string
	Type                string // ce-type, e.g. azure.webpubsub.user.chat
	EventName, Hub      string // ce-eventName, ce-hub
	ConnectionID        string // ce-connectionId
	Body                string
}

// upstream is an app's event handler: it answers the abuse-protection check (except under /broken/,
// where it refuses it) and records every request.
type upstream struct {
	srv *httptest.Server

	mu     sync.Mutex
	events []upstreamEvent
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

// URL is the base URL, e.g. http://127.0.0.1:1234.
func (u *upstream) URL() string { return u.srv.URL }

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	u.mu.Lock()
	u.events = append(u.events, upstreamEvent{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Type: r.Header.Get("ce-type"), EventName: r.Header.Get("ce-eventName"), Hub: r.Header.Get("ce-hub"),
		ConnectionID: r.Header.Get("ce-connectionId"), Body: string(body),
	})
	u.mu.Unlock()
	broken := strings.HasPrefix(r.URL.Path, "/broken/")
	switch {
	case r.Method == http.MethodOptions && broken:
		http.Error(w, "not an event handler", http.StatusForbidden)
	case r.Method == http.MethodOptions:
		w.Header().Set("WebHook-Allowed-Origin", "*")
	case broken:
		http.Error(w, "no event may reach an unvalidated URL", http.StatusInternalServerError)
	default:
		w.WriteHeader(http.StatusNoContent) // connect: accept as is; user events: no reply
	}
}

// matching returns the recorded requests for which keep is true.
func (u *upstream) matching(keep func(upstreamEvent) bool) []upstreamEvent {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []upstreamEvent
	for _, e := range u.events {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// waitFor waits until a request for which keep is true has arrived, and returns it.
func (u *upstream) waitFor(t *testing.T, what string, timeout time.Duration, keep func(upstreamEvent) bool) upstreamEvent {
	t.Helper()
	var got upstreamEvent
	eventually(t, timeout, "upstream receives "+what, func() error {
		if m := u.matching(keep); len(m) > 0 {
			got = m[0]
			return nil
		}
		return fmt.Errorf("%d requests so far, none matching", len(u.matching(func(upstreamEvent) bool { return true })))
	})
	return got
}

// userEvent matches a POST of the user event name from connection id, under path prefix.
func userEvent(prefix, name, connID string) func(upstreamEvent) bool {
	return func(e upstreamEvent) bool {
		return e.Method == http.MethodPost && strings.HasPrefix(e.Path, prefix) &&
			e.Type == "azure.webpubsub.user."+name && e.ConnectionID == connID
	}
}
