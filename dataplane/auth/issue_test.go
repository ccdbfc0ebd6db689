package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestClientAudience(t *testing.T) {
	tests := []struct {
		endpoint, hub, want string
	}{
		{"https://wps.example.com", "chat", "https://wps.example.com/client/hubs/chat"},
		{"https://wps.example.com/", "chat", "https://wps.example.com/client/hubs/chat"},
		{"http://localhost:8080", "Chat", "http://localhost:8080/client/hubs/Chat"},
		{"https://wps.example.com:443", "chat", "https://wps.example.com/client/hubs/chat"},
		{"http://localhost:80/", "chat", "http://localhost/client/hubs/chat"},
		{"https://x.example.com/wps/", "chat", "https://x.example.com/wps/client/hubs/chat"},
		{"https://wps.example.com", "a`b", "https://wps.example.com/client/hubs/a`b"},
	}
	for _, tt := range tests {
		if got := ClientAudience(mustURL(tt.endpoint), tt.hub); got != tt.want {
			t.Errorf("ClientAudience(%q, %q) = %q, want %q", tt.endpoint, tt.hub, got, tt.want)
		}
	}
}

func TestClientURL(t *testing.T) {
	tests := []struct {
		endpoint, hub, want string
	}{
		{"https://wps.example.com", "chat", "wss://wps.example.com/client/hubs/chat?access_token=a.b.c"},
		{"http://127.0.0.1:8080/", "chat", "ws://127.0.0.1:8080/client/hubs/chat?access_token=a.b.c"},
		{"https://x.example.com/wps", "chat", "wss://x.example.com/wps/client/hubs/chat?access_token=a.b.c"},
		{"https://wps.example.com", "a`b", "wss://wps.example.com/client/hubs/a%60b?access_token=a.b.c"},
	}
	for _, tt := range tests {
		if got := ClientURL(mustURL(tt.endpoint), tt.hub, "a.b.c"); got != tt.want {
			t.Errorf("ClientURL(%q, %q) = %q, want %q", tt.endpoint, tt.hub, got, tt.want)
		}
	}
}

// TestIssueClientToken checks the claims on the wire (as the JS SDK writes them) and that the token
// verifies, through the URL a client would use.
func TestIssueClientToken(t *testing.T) {
	cs, err := ParseConnectionString("Endpoint=http://localhost;Port=8080;AccessKey=" + testPrimary + ";Version=1.0;")
	if err != nil {
		t.Fatal(err)
	}
	aud := ClientAudience(cs.Endpoint, "chat")
	token, err := IssueClientToken(cs.AccessKey, ClientTokenOptions{
		Audience: aud,
		UserID:   "u1",
		Roles:    []string{"webpubsub.joinLeaveGroup"},
		Groups:   []string{"g1"},
		TTL:      10 * time.Minute,
		Now:      testNow,
		Extra:    map[string]any{"tenant": "t1", "aud": "overridden?", "sub": "overridden?"},
	})
	if err != nil {
		t.Fatal(err)
	}
	header, payload := decodeSegments(t, token)
	if header["alg"] != "HS256" || header["typ"] != "JWT" || len(header) != 2 {
		t.Errorf("header = %v, want exactly alg HS256 and typ JWT", header)
	}
	want := map[string]any{
		"aud": aud, "sub": "u1", "iat": float64(testNow.Unix()), "exp": float64(testNow.Add(10 * time.Minute).Unix()),
		"role": []any{"webpubsub.joinLeaveGroup"}, "webpubsub.group": []any{"g1"}, "tenant": "t1",
	}
	if len(payload) != len(want) {
		t.Errorf("payload = %v, want %v", payload, want)
	}
	for k, w := range want {
		got, _ := json.Marshal(payload[k])
		wj, _ := json.Marshal(w)
		if string(got) != string(wj) {
			t.Errorf("claim %s = %s, want %s", k, got, wj)
		}
	}

	// The URL a client gets works against a gateway listening on that endpoint.
	u, err := url.Parse(ClientURL(cs.Endpoint, "chat", token))
	if err != nil {
		t.Fatal(err)
	}
	r := clientRequest("http://"+u.Host+u.RequestURI(), "")
	v := &Verifier{Keys: NewKeySet(testPrimary, ""), Now: func() time.Time { return testNow }}
	c, err := v.VerifyClient(TokenFromRequest(r), "chat", r)
	if err != nil {
		t.Fatalf("issued token refused: %v", err)
	}
	if c.UserID != "u1" || !slices.Equal(c.Roles, []string{"webpubsub.joinLeaveGroup"}) || !slices.Equal(c.Groups, []string{"g1"}) {
		t.Errorf("claims = %+v", c)
	}
}

func TestIssueClientTokenMinimal(t *testing.T) {
	token, err := IssueClientToken(testPrimary, ClientTokenOptions{Audience: "https://wps.example.com/client/hubs/chat", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	_, payload := decodeSegments(t, token)
	for _, absent := range []string{"sub", "role", "webpubsub.group"} {
		if _, ok := payload[absent]; ok {
			t.Errorf("claim %s present without a value", absent)
		}
	}
	if payload["exp"] != float64(testNow.Add(DefaultTokenTTL).Unix()) {
		t.Errorf("exp = %v, want one hour after iat", payload["exp"])
	}
}

func TestIssueErrors(t *testing.T) {
	tests := []struct {
		name string
		err  func() error
	}{
		{"client token without audience", func() error { _, err := IssueClientToken(testPrimary, ClientTokenOptions{}); return err }},
		{"client token without key", func() error {
			_, err := IssueClientToken("", ClientTokenOptions{Audience: "https://x/client/hubs/h"})
			return err
		}},
		{"negative TTL", func() error {
			_, err := IssueClientToken(testPrimary, ClientTokenOptions{Audience: "https://x/client/hubs/h", TTL: -time.Second})
			return err
		}},
		{"REST token without audience", func() error { _, err := IssueRESTToken(testPrimary, "", 0); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), testPrimary) {
				t.Fatalf("error %q contains the key", err)
			}
		})
	}
}

func TestIssueRESTToken(t *testing.T) {
	aud := "https://wps.example.com/api/hubs/chat/:send?api-version=2024-12-01"
	token, err := IssueRESTToken(testPrimary, aud, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_, payload := decodeSegments(t, token)
	if payload["aud"] != aud || len(payload) != 3 {
		t.Errorf("payload = %v, want aud, iat and exp", payload)
	}
	if exp, iat := payload["exp"].(float64), payload["iat"].(float64); exp-iat != 300 {
		t.Errorf("exp - iat = %v, want 300", exp-iat)
	}
}

func TestClaimsContext(t *testing.T) {
	ctx := t.Context()
	if _, ok := ClaimsFrom(ctx); ok {
		t.Fatal("claims in an empty context")
	}
	want := &Claims{UserID: "u1", HasUserID: true}
	got, ok := ClaimsFrom(WithClaims(ctx, want))
	if !ok || got != want {
		t.Fatalf("ClaimsFrom = %v, %v; want the stored claims", got, ok)
	}
	if _, ok := ClaimsFrom(WithClaims(ctx, nil)); ok {
		t.Fatal("nil claims reported as present")
	}
	// Another package's value under a look-alike key is not our claims.
	type claimsKey struct{}
	if _, ok := ClaimsFrom(context.WithValue(ctx, claimsKey{}, want)); ok {
		t.Fatal("claims found under a foreign key")
	}
}

func decodeSegments(t *testing.T, token string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}
