package rest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestAuthFailures checks that a request without a valid bearer token is a 401 in the error shape that
// never echoes the token, and reaches no Service method.
func TestAuthFailures(t *testing.T) {
	const target = "/api/hubs/hub1/:send?" + v
	sign := func(key string, claims jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name  string
		token func(url string) string
		msg   string
	}{
		{"no token", func(string) string { return "" }, "missing access token"},
		{"not a JWT", func(string) string { return "not-a-jwt" }, "invalid access token"},
		{"bad signature", func(u string) string {
			return sign("another-key", jwt.MapClaims{"aud": u, "exp": time.Now().Add(time.Hour).Unix()})
		}, "invalid access token"},
		{"wrong audience", func(u string) string {
			return mustRESTToken(t, strings.Replace(u, "/:send", "/:closeConnections", 1))
		}, "audience does not match"},
		{"audience of a client URL", func(u string) string {
			return mustRESTToken(t, strings.Replace(u, "/api/hubs/hub1/:send", "/client/hubs/hub1", 1))
		}, "audience does not match"},
		{"expired", func(u string) string {
			return sign(testKey, jwt.MapClaims{"aud": u, "exp": time.Now().Add(-time.Hour).Unix()})
		}, "expired"},
		{"no exp", func(u string) string { return sign(testKey, jwt.MapClaims{"aud": u}) }, "invalid access token"},
		{"HS512", func(u string) string {
			tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"aud": u, "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(testKey))
			return tok
		}, "invalid access token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tok := tt.token(e.srv.URL + target)
			r := e.send(req{method: http.MethodPost, target: target, contentType: "text/plain", body: "x", token: &tok})
			wantError(t, r, http.StatusUnauthorized, CodeUnauthorized, "", tt.msg)
			if got := r.header.Get("WWW-Authenticate"); got != "Bearer" {
				t.Errorf("WWW-Authenticate = %q, want Bearer", got)
			}
			if len(tok) > 10 && strings.Contains(string(r.body), tok) {
				t.Errorf("the response echoes the token: %s", r.body)
			}
			if calls := e.svc.recorded(); len(calls) != 0 {
				t.Errorf("the Service was called: %+v", calls)
			}
		})
	}
}

// TestAuthAccepts checks the audiences the SDKs sign: with the query (JS, Go), without it (older docs),
// and the scheme ignored.
func TestAuthAccepts(t *testing.T) {
	const target = "/api/hubs/hub1/:closeConnections?" + v + "&reason=r"
	tests := []struct {
		name string
		aud  func(url string) string
	}{
		{"full URL", func(u string) string { return u }},
		{"without the query", func(u string) string { p, _, _ := strings.Cut(u, "?"); return p }},
		{"https scheme", func(u string) string { return strings.Replace(u, "http://", "https://", 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tok := mustRESTToken(t, tt.aud(e.srv.URL+target))
			if r := e.send(req{method: http.MethodPost, target: target, token: &tok}); r.status != http.StatusNoContent {
				t.Errorf("status = %d, body %s", r.status, r.body)
			}
		})
	}
}
