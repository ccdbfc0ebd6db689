package rest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/kwps/kwps/dataplane/auth"
)

// TestGenerateToken checks that :generateToken returns a client token that the client endpoint of the
// hub accepts, with the asked user, roles, groups and lifetime.
func TestGenerateToken(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		user    string
		roles   []string
		groups  []string
		minutes int
	}{
		{"defaults", "", "", nil, nil, 60},
		{"everything", "&userId=u%201&role=webpubsub.joinLeaveGroup&role=webpubsub.sendToGroup.g1&group=g1&group=g%2F2&minutesToExpire=5&clientType=default",
			"u 1", []string{"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup.g1"}, []string{"g1", "g/2"}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.send(req{method: http.MethodPost, target: "/api/hubs/MyHub/:generateToken?" + v + tt.query})
			if r.status != http.StatusOK {
				t.Fatalf("status %d, body %s", r.status, r.body)
			}
			var resp struct {
				Token string `json:"token"`
			}
			if err := json.Unmarshal(r.body, &resp); err != nil || resp.Token == "" {
				t.Fatalf("body %s: %v", r.body, err)
			}
			endpoint, _ := url.Parse(e.srv.URL)
			verifier := &auth.Verifier{Keys: auth.NewKeySet(testKey, ""), PublicEndpoints: func() []*url.URL { return []*url.URL{endpoint} }}
			c, err := verifier.VerifyClient(resp.Token, "myhub", nil)
			if err != nil {
				t.Fatalf("the client endpoint refuses the token: %v", err)
			}
			if c.UserID != tt.user || c.HasUserID != (tt.user != "") {
				t.Errorf("user = %q (%v), want %q", c.UserID, c.HasUserID, tt.user)
			}
			if !slices.Equal(c.Roles, tt.roles) || !slices.Equal(c.Groups, tt.groups) {
				t.Errorf("roles %q groups %q, want %q %q", c.Roles, c.Groups, tt.roles, tt.groups)
			}
			ttl := time.Until(c.ExpiresAt)
			if want := time.Duration(tt.minutes) * time.Minute; ttl > want || ttl < want-time.Minute {
				t.Errorf("token expires in %v, want %v", ttl, want)
			}
		})
	}
}

// TestGenerateTokenWithoutKey checks that a handler without keys answers 500 rather than an unsigned
// token.
func TestGenerateTokenWithoutKey(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Keys = nil })
	r := e.send(req{method: http.MethodPost, target: "/api/hubs/h/:generateToken?" + v})
	wantError(t, r, http.StatusInternalServerError, CodeInternal, "", "could not complete")
}
