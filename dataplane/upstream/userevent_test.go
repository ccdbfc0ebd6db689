package upstream

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kwps/kwps/dataplane/hubconfig"
)

func TestUserEventResponses(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		want     *EventResponse
		wantErr  string
		wantCode int // status the failing answer had, for the error message
	}{{
		name: "200 body goes back with its content type",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("hello back"))
		},
		want: &EventResponse{ContentType: "text/plain; charset=utf-8", Body: []byte("hello back")},
	}, {
		name:    "204 is empty",
		handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) },
		want:    &EventResponse{},
	}, {
		name: "state kept when the header is absent",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.WriteHeader(http.StatusOK)
		},
		want: &EventResponse{ContentType: "application/octet-stream"},
	}, {
		name: "state set",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ce-connectionState", "bmV3")
			w.WriteHeader(http.StatusNoContent)
		},
		want: &EventResponse{State: ptr("bmV3")},
	}, {
		name: "state cleared",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Ce-Connectionstate"] = []string{""}
			w.WriteHeader(http.StatusNoContent)
		},
		want: &EventResponse{State: ptr("")},
	}, {
		name: "a body of exactly the limit is fine",
		handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(make([]byte, MaxResponseBytes))
		},
		want: &EventResponse{ContentType: "application/octet-stream", Body: make([]byte, MaxResponseBytes)},
	}, {
		name: "an oversized body is an error, not truncated",
		handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(make([]byte, MaxResponseBytes+1))
		},
		wantErr: "too large",
	}, {
		name: "a huge streamed body is cut off",
		handler: func(w http.ResponseWriter, r *http.Request) {
			chunk := make([]byte, 64<<10)
			for range 1024 { // 64 MiB, unless the client hangs up first
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		},
		wantErr: "too large",
	}, {
		name:    "a 4xx fails the event",
		handler: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusBadRequest) },
		wantErr: "answered 400 Bad Request",
	}, {
		name:    "a 5xx fails the event",
		handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) },
		wantErr: "answered 502 Bad Gateway",
	}, {
		name: "a slow handler times out",
		handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
		},
		wantErr: "timed out",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, tt.handler)
			c := newTestClient(t, Options{EventTimeout: 300 * time.Millisecond})
			conn := testConn()
			conn.State = "b2xk"
			start := time.Now()
			got, err := c.UserEvent(t.Context(), testHub(allEvents(u.URL+"/{event}")), conn, "echo", ContentTypeText, []byte("hi"))
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("UserEvent took %s, its timeout is 300ms", elapsed)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ContentType != tt.want.ContentType || string(got.Body) != string(tt.want.Body) || !equalPtr(got.State, tt.want.State) {
				t.Errorf("response = {%q, %d bytes, state %v}, want {%q, %d bytes, state %v}",
					got.ContentType, len(got.Body), show(got.State), tt.want.ContentType, len(tt.want.Body), show(tt.want.State))
			}
			if s := u.requests()[0].Header.Get("ce-connectionState"); s != "b2xk" {
				t.Errorf("request carried state %q, want the connection's b2xk", s)
			}
		})
	}
}

func equalPtr(a, b *string) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

func show(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return `"` + *p + `"`
}

func TestUserEventWithoutHandler(t *testing.T) {
	u := newUpstream(t, nil)
	c := newTestClient(t, Options{})
	h := allEvents(u.URL)
	h.UserEventPattern = "a,b"
	if _, err := c.UserEvent(t.Context(), testHub(h), testConn(), "c", "", nil); !errors.Is(err, ErrNoHandler) {
		t.Errorf("err = %v, want ErrNoHandler", err)
	}
	if n := len(u.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestURLEscapingReachesTheHandler(t *testing.T) {
	u := newUpstream(t, nil)
	c := newTestClient(t, Options{})
	hub := hubconfig.Default("Odd`Hub,[1]")
	hub.EventHandlers = []hubconfig.EventHandler{allEvents(u.URL + "/api/{hub}/{event}?hub={hub}&event={event}")}
	hub.Normalize()
	conn := testConn()
	conn.Hub = hub.Name
	if _, err := c.UserEvent(t.Context(), hub, conn, "my.event-1", "", nil); err != nil {
		t.Fatal(err)
	}
	got := u.next(t)
	if want := "/api/odd`hub,[1]/my.event-1"; got.Path != want {
		t.Errorf("path %q, want %q", got.Path, want)
	}
	if h, e := got.Query["hub"], got.Query["event"]; len(h) != 1 || h[0] != "odd`hub,[1]" || len(e) != 1 || e[0] != "my.event-1" {
		t.Errorf("query %v, want hub and event once each", got.Query)
	}
	if h := got.Header.Get("ce-hub"); h != "odd`hub,[1]" {
		t.Errorf("ce-hub %q", h)
	}
}

func TestCodeSecretIsSentAndNeverLeaks(t *testing.T) {
	const secret = "s3cr3t&x=1"
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	logs := &logBuffer{}
	resolver := SecretResolverFunc(func(_ context.Context, ref hubconfig.SecretKeyRef) (string, error) {
		if ref != (hubconfig.SecretKeyRef{Name: "fn", Key: "code"}) {
			return "", errors.New("no such secret")
		}
		return secret, nil
	})
	c := newTestClient(t, Options{Secrets: resolver, Logger: logs.logger()})
	h := allEvents(u.URL + "/api/{event}?code=template-secret&x={hub}")
	h.CodeSecretRef = &hubconfig.SecretKeyRef{Name: "fn", Key: "code"}
	hub := testHub(h)

	_, err := c.UserEvent(t.Context(), hub, testConn(), "message", "", nil)
	if err == nil {
		t.Fatal("a 503 succeeded")
	}
	got := u.next(t)
	if code := got.Query["code"]; len(code) != 1 || code[0] != secret {
		t.Errorf("code sent as %q, want the resolved secret once", code)
	}
	if x := got.Query["x"]; len(x) != 1 || x[0] != "chat" {
		t.Errorf("other parameters changed: %v", got.Query)
	}
	c.Disconnected(hub, testConn(), "bye") // fails 4 times, and is logged
	waitFor(t, "the disconnected event to fail", func() bool { return c.Stats().Failed == 2 })
	for what, s := range map[string]string{"error": err.Error(), "log": logs.String()} {
		if strings.Contains(s, "s3cr3t") || strings.Contains(s, "template-secret") {
			t.Errorf("the %s leaks the code: %s", what, s)
		}
		if !strings.Contains(s, "code=REDACTED") {
			t.Errorf("the %s does not name the redacted URL: %s", what, s)
		}
	}

	h.CodeSecretRef = &hubconfig.SecretKeyRef{Name: "other", Key: "code"}
	if _, err := c.UserEvent(t.Context(), testHub(h), testConn(), "message", "", nil); err == nil || !strings.Contains(err.Error(), "codeSecretRef other/code: no such secret") {
		t.Errorf("unresolvable secret: %v", err)
	}
	noResolver := newTestClient(t, Options{})
	if _, err := noResolver.UserEvent(t.Context(), hub, testConn(), "message", "", nil); err == nil || !strings.Contains(err.Error(), "no secret resolver") {
		t.Errorf("no resolver: %v", err)
	}
}

func TestManagedIdentityBearerToken(t *testing.T) {
	const resource = "api://kwps-upstream"
	dir := t.TempDir()
	path := filepath.Join(dir, TokenFileName(resource))
	if err := os.WriteFile(path, []byte("token-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := newUpstream(t, nil)
	c := newTestClient(t, Options{TokenSource: &FileTokenSource{Dir: dir}})
	h := allEvents(u.URL)
	h.Auth = hubconfig.UpstreamAuth{Type: hubconfig.AuthManagedIdentity, Resource: resource}
	hub := testHub(h)
	send := func() string {
		t.Helper()
		if _, err := c.UserEvent(t.Context(), hub, testConn(), "message", "", nil); err != nil {
			t.Fatal(err)
		}
		return u.next(t).Header.Get("Authorization")
	}
	if got := send(); got != "Bearer token-one" {
		t.Fatalf("Authorization %q, want Bearer token-one", got)
	}
	// The kubelet rotates the projected token in place.
	if err := os.WriteFile(path, []byte("token-two"), 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rotated token", func() bool { return send() == "Bearer token-two" })

	none := newTestClient(t, Options{})
	if _, err := none.UserEvent(t.Context(), hub, testConn(), "message", "", nil); err == nil || !strings.Contains(err.Error(), "ManagedIdentity needs an identity token source") {
		t.Errorf("without a token source: %v", err)
	}
}

func TestRedirects(t *testing.T) {
	other := newUpstream(t, nil)
	tests := []struct {
		name    string
		target  func(self string) string // where the handler redirects to
		wantErr string
		wantHit bool // whether other received the event
	}{
		{"to another host: not followed", func(string) string { return other.URL + "/stolen" }, "to another host", false},
		{"to the same host: followed with the body", func(self string) string { return self + "/moved" }, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var self string
			u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/moved" {
					w.WriteHeader(http.StatusNoContent)
					return
				}
				http.Redirect(w, r, tt.target(self), http.StatusTemporaryRedirect)
			})
			self = u.URL
			c := newTestClient(t, Options{})
			_, err := c.UserEvent(t.Context(), testHub(allEvents(u.URL+"/api")), testConn(), "message", ContentTypeText, []byte("payload"))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if hit := len(other.requests()) > 0; hit != tt.wantHit {
				t.Errorf("other host received the event: %v", hit)
			}
			if tt.wantErr == "" {
				reqs := u.requests()
				if last := reqs[len(reqs)-1]; last.Path != "/moved" || string(last.Body) != "payload" || last.Header.Get("ce-signature") == "" {
					t.Errorf("redirected request %s body %q signed %v", last.Path, last.Body, last.Header.Get("ce-signature") != "")
				}
			}
		})
	}
	t.Run("at most 3 redirects", func(t *testing.T) {
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path+"x", http.StatusTemporaryRedirect)
		})
		c := newTestClient(t, Options{})
		_, err := c.UserEvent(t.Context(), testHub(allEvents(u.URL+"/a")), testConn(), "message", "", nil)
		if err == nil || !strings.Contains(err.Error(), "more than 3 redirects") {
			t.Fatalf("err = %v", err)
		}
		if n := len(u.requests()); n != 4 {
			t.Errorf("%d requests, want the first and 3 redirects", n)
		}
	})
}

func TestUnreachableHandler(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c := newTestClient(t, Options{})
	hub := testHub(allEvents("http://" + addr + "/api/{event}"))
	_, err = c.Connect(t.Context(), hub, testConn(), ConnectRequest{})
	var se *StatusError
	if err == nil || errors.As(err, &se) || !strings.Contains(err.Error(), "event handler http://"+addr+"/api/connect") {
		t.Errorf("Connect to a closed port: %v; want a non-status error naming the URL", err)
	}
	if _, err := c.UserEvent(t.Context(), hub, testConn(), "message", "", nil); err == nil {
		t.Error("UserEvent to a closed port succeeded")
	}
}
