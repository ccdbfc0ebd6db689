package upstream

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kwps/kwps/dataplane/hubconfig"
)

func TestValidate(t *testing.T) {
	allow := func(values ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for _, v := range values {
				w.Header().Add(HeaderAllowedOrigin, v)
			}
		}
	}
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantReason string // "" for success
		wantStatus int
		wantDetail string
	}{
		{name: "pass with *", handler: allow("*")},
		{name: "pass with the origin, any case", handler: allow("KWPS.Example.com")},
		{name: "pass with the origin in a list", handler: allow("other.example.com, kwps.example.com")},
		{name: "pass with the origin in a second header (express allowedEndpoints)", handler: allow("other.example.com", "kwps.example.com")},
		{name: "fail with another origin", handler: allow("other.example.com"), wantReason: ReasonOriginNotAllowed, wantStatus: 200,
			wantDetail: `WebHook-Allowed-Origin "other.example.com" allows neither * nor this service's origin "kwps.example.com"`},
		{name: "fail with a prefix of the origin", handler: allow("kwps.example"), wantReason: ReasonOriginNotAllowed, wantStatus: 200},
		{name: "fail without the header", handler: allow(), wantReason: ReasonAllowedOriginMissing, wantStatus: 200,
			wantDetail: "without a WebHook-Allowed-Origin header"},
		{name: "fail on 404", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(HeaderAllowedOrigin, "*")
			http.NotFound(w, r)
		},
			wantReason: ReasonStatus, wantStatus: 404, wantDetail: "answered 404 Not Found"},
		{name: "fail on 500", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, wantReason: ReasonStatus, wantStatus: 500},
		{name: "fail on a slow handler", handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
		}, wantReason: ReasonTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, tt.handler)
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			err := Validate(ctx, nil, u.URL+"/api/{hub}/{event}?code=abc", "Chat", testOrigin)
			got := u.next(t)
			if got.Method != http.MethodOptions || got.Path != "/api/chat/validate" || got.Query["code"][0] != "abc" ||
				got.Header.Get("WebHook-Request-Origin") != testOrigin || got.Header.Get("ce-awpsversion") != "1.0" || len(got.Body) != 0 {
				t.Errorf("request %s %s %v origin %q awpsversion %q", got.Method, got.Path, got.Query,
					got.Header.Get("WebHook-Request-Origin"), got.Header.Get("ce-awpsversion"))
			}
			if tt.wantReason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Reason != tt.wantReason || ve.Status != tt.wantStatus {
				t.Fatalf("err = %#v, want reason %s status %d", err, tt.wantReason, tt.wantStatus)
			}
			msg := err.Error()
			if !strings.Contains(msg, "event handler "+u.URL+"/api/chat/validate?code=REDACTED: ") || strings.Contains(msg, "abc") {
				t.Errorf("message %q does not name the redacted URL", msg)
			}
			if !strings.Contains(msg, tt.wantDetail) {
				t.Errorf("message %q, want %q", msg, tt.wantDetail)
			}
		})
	}
	t.Run("fail when unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		err = Validate(t.Context(), nil, "http://"+addr+"/{event}", "chat", testOrigin)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Reason != ReasonUnreachable || !strings.Contains(err.Error(), "http://"+addr+"/validate") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestValidateHandlerResolvesTheCode(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { w.Header().Set(HeaderAllowedOrigin, "*") })
	resolver := SecretResolverFunc(func(_ context.Context, ref hubconfig.SecretKeyRef) (string, error) {
		if ref.Name == "fn" {
			return "fn-code", nil
		}
		return "", errors.New("not found")
	})
	eh := allEvents(u.URL + "/runtime/webhooks/webpubsub?event={event}")
	eh.CodeSecretRef = &hubconfig.SecretKeyRef{Name: "fn", Key: "k"}
	if err := ValidateHandler(t.Context(), nil, "chat", &eh, testOrigin, resolver); err != nil {
		t.Fatal(err)
	}
	if got := u.next(t); got.Query["code"][0] != "fn-code" || got.Query["event"][0] != "validate" {
		t.Errorf("query %v", got.Query)
	}
	eh.CodeSecretRef.Name = "missing"
	err := ValidateHandler(t.Context(), nil, "chat", &eh, testOrigin, resolver)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Reason != ReasonHandlerConfig || !strings.Contains(err.Error(), "codeSecretRef missing/k: not found") {
		t.Errorf("err = %v", err)
	}
}

// reports collects a Validator's reports.
type reports struct {
	mu  sync.Mutex
	all []ValidationResult
}

func (r *reports) add(v ValidationResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, v)
}

// last returns the latest report of hub.
func (r *reports) last(hub string) (ValidationResult, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.all) - 1; i >= 0; i-- {
		if r.all[i].Hub.Name == hub {
			return r.all[i], true
		}
	}
	return ValidationResult{}, false
}

func startValidator(t *testing.T, o ValidatorOptions) (*Validator, *reports) {
	t.Helper()
	rep := &reports{}
	o.Report = rep.add
	o.Origin = func() string { return testOrigin }
	v := NewValidator(o)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = v.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return v, rep
}

func TestValidatorReadiness(t *testing.T) {
	var healthy atomic.Bool
	flaky := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if healthy.Load() {
			w.Header().Set(HeaderAllowedOrigin, "*")
		}
	})
	good := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { w.Header().Set(HeaderAllowedOrigin, testOrigin) })
	v, rep := startValidator(t, ValidatorOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, Refresh: time.Hour})

	// Two handlers with one URL are checked once; the hub is ready when it passed.
	goodHub := &hubconfig.Hub{Name: "good", EventHandlers: []hubconfig.EventHandler{allEvents(good.URL + "/{event}"), allEvents(good.URL + "/{event}")}}
	v.Set(goodHub)
	waitFor(t, "good to be ready", func() bool { r, _ := rep.last("good"); return r.Ready })
	if r, _ := rep.last("good"); r.Hub != goodHub || r.Message != "" {
		t.Errorf("report %+v", r)
	}
	if n := len(good.requests()); n != 1 {
		t.Errorf("%d checks of one distinct URL, want 1", n)
	}

	// A failing URL keeps the hub not ready with a message, and is retried until it passes.
	flakyHub := &hubconfig.Hub{Name: "flaky", EventHandlers: []hubconfig.EventHandler{allEvents(good.URL + "/{event}"), allEvents(flaky.URL + "/{event}?code=secret")}}
	v.Set(flakyHub)
	waitFor(t, "flaky to fail", func() bool { r, _ := rep.last("flaky"); return strings.Contains(r.Message, "WebHook-Allowed-Origin") })
	r, _ := rep.last("flaky")
	if r.Ready || !strings.Contains(r.Message, flaky.URL+"/validate?code=REDACTED") || strings.Contains(r.Message, "secret") {
		t.Errorf("report %+v", r)
	}
	if got, ok := v.Result("flaky"); !ok || got.Ready {
		t.Errorf("Result(flaky) = %+v, %v", got, ok)
	}
	waitFor(t, "retries", func() bool { return len(flaky.requests()) >= 3 })
	healthy.Store(true)
	waitFor(t, "flaky to recover", func() bool { r, _ := rep.last("flaky"); return r.Ready })

	// A changed URL is validated again before the hub is ready again.
	other := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	changed := &hubconfig.Hub{Name: "good", EventHandlers: []hubconfig.EventHandler{allEvents(other.URL + "/{event}")}}
	v.Set(changed)
	waitFor(t, "the new URL to fail", func() bool {
		r, _ := rep.last("good")
		return r.Hub == changed && !r.Ready && r.Message != "validating event handler URLs"
	})
	if r, _ := rep.last("good"); !strings.Contains(r.Message, "404") {
		t.Errorf("report %+v", r)
	}

	v.Remove("good")
	if _, ok := v.Result("good"); ok {
		t.Error("a removed hub still has a result")
	}
}

func TestValidatorRevalidatesSuccesses(t *testing.T) {
	var fail atomic.Bool
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if !fail.Load() {
			w.Header().Set(HeaderAllowedOrigin, "*")
		}
	})
	v, rep := startValidator(t, ValidatorOptions{MinBackoff: 10 * time.Millisecond, Refresh: 30 * time.Millisecond})
	v.Set(&hubconfig.Hub{Name: "chat", EventHandlers: []hubconfig.EventHandler{allEvents(u.URL)}})
	waitFor(t, "ready", func() bool { r, _ := rep.last("chat"); return r.Ready })
	waitFor(t, "periodic re-validation", func() bool { return len(u.requests()) >= 3 })
	fail.Store(true)
	waitFor(t, "a failed re-validation to show", func() bool { r, _ := rep.last("chat"); return !r.Ready })
}

func TestValidatorHubWithoutHandlersIsReady(t *testing.T) {
	v, rep := startValidator(t, ValidatorOptions{})
	v.Set(hubconfig.Default("plain"))
	waitFor(t, "ready", func() bool { r, ok := rep.last("plain"); return ok && r.Ready })
}
