package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestClaims checks what a client token grants: user, roles and groups from the short and long claim
// types, and the connect event's `claims` shape.
func TestClaims(t *testing.T) {
	const aud = `"aud":"https://wps.example.com/client/hubs/chat"`
	exp := `,"exp":` + itoa(testNow.Add(time.Hour).Unix())
	tests := []struct {
		name       string
		claims     string // JSON members besides aud and exp
		wantUser   string
		wantHas    bool
		wantRoles  []string
		wantGroups []string
		wantAll    map[string][]string // checked keys only
		wantErr    string
	}{
		{name: "anonymous"},
		{name: "sub", claims: `"sub":"u1"`, wantUser: "u1", wantHas: true},
		{name: "sub as a one-element array", claims: `"sub":["u1"]`, wantUser: "u1", wantHas: true},
		{
			name:     "nameidentifier long form",
			claims:   `"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier":"u2"`,
			wantUser: "u2", wantHas: true,
		},
		{name: "nameid", claims: `"nameid":"u3"`, wantUser: "u3", wantHas: true},
		{
			name:     "sub wins over the aliases",
			claims:   `"nameid":"u3","sub":"u1","http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier":"u2"`,
			wantUser: "u1", wantHas: true,
		},
		{name: "empty sub falls through to nameid", claims: `"sub":"","nameid":"u3"`, wantUser: "u3", wantHas: true},
		{name: "empty sub is anonymous", claims: `"sub":""`},
		{name: "role as a string", claims: `"role":"webpubsub.joinLeaveGroup"`, wantRoles: []string{"webpubsub.joinLeaveGroup"}},
		{
			name:      "role short and long forms, union in order, deduplicated",
			claims:    `"role":["a","b","a"],"http://schemas.microsoft.com/ws/2008/06/identity/claims/role":["c","b"]`,
			wantRoles: []string{"a", "b", "c"},
		},
		{
			name:      "long role form alone",
			claims:    `"http://schemas.microsoft.com/ws/2008/06/identity/claims/role":"webpubsub.sendToGroup"`,
			wantRoles: []string{"webpubsub.sendToGroup"},
		},
		{name: "group as a string", claims: `"webpubsub.group":"g"`, wantGroups: []string{"g"}},
		{name: "groups deduplicated", claims: `"webpubsub.group":["g1","g2","g1",""]`, wantGroups: []string{"g1", "g2"}},
		{name: "JS SDK empty arrays", claims: `"role":[],"webpubsub.group":[]`},
		{
			name:   "numbers stringified like the service",
			claims: `"iat":1629183374,"nbf":1.629183374e9,"big":12345678901234567890,"half":1.5,"ok":true,"obj":{"a":1},"nil":null`,
			wantAll: map[string][]string{
				"iat": {"1629183374"}, "nbf": {"1629183374"}, "big": {"12345678901234567890"},
				"half": {"1.5"}, "ok": {"true"}, "obj": {`{"a":1}`},
				"aud": {"https://wps.example.com/client/hubs/chat"}, "exp": {itoa(testNow.Add(time.Hour).Unix())},
			},
		},
		{name: "custom claim array", claims: `"tenant":["a",2]`, wantAll: map[string][]string{"tenant": {"a", "2"}}},
		{name: "two user ids", claims: `"sub":["a","b"]`, wantErr: "single user id"},
		{name: "role too long", claims: `"role":["` + strings.Repeat("r", MaxRoleLength+1) + `"]`, wantErr: "limit is 1100"},
		{name: "group too long", claims: `"webpubsub.group":["` + strings.Repeat("g", MaxGroupLength+1) + `"]`, wantErr: "limit is 1024"},
		{
			name: "group of the longest allowed name", claims: `"webpubsub.group":["` + strings.Repeat("é", MaxGroupLength) + `"]`,
			wantGroups: []string{strings.Repeat("é", MaxGroupLength)},
		},
		{name: "white-space group", claims: `"webpubsub.group":["  "]`, wantErr: "white space"},
	}
	v := newTestVerifier("https://wps.example.com")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := "{" + aud + exp
			if tt.claims != "" {
				body += "," + tt.claims
			}
			body += "}"
			c, err := v.VerifyClient(signRaw("HS256", testPrimary, body), "chat", nil)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrInvalidToken containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.UserID != tt.wantUser || c.HasUserID != tt.wantHas {
				t.Errorf("user = %q, %v; want %q, %v", c.UserID, c.HasUserID, tt.wantUser, tt.wantHas)
			}
			if tt.wantRoles != nil && !slices.Equal(c.Roles, tt.wantRoles) {
				t.Errorf("Roles = %q, want %q", c.Roles, tt.wantRoles)
			}
			if tt.wantGroups != nil || c.Groups != nil {
				if !slices.Equal(c.Groups, tt.wantGroups) {
					t.Errorf("Groups = %q, want %q", c.Groups, tt.wantGroups)
				}
			}
			for k, want := range tt.wantAll {
				if !slices.Equal(c.All[k], want) {
					t.Errorf("All[%q] = %q, want %q", k, c.All[k], want)
				}
			}
			if _, ok := c.All["nil"]; ok {
				t.Error("a null claim appears in All")
			}
		})
	}
}

// TestBoundedUnion checks the count bounds directly: a token holding 1000 roles does not fit in
// MaxTokenBytes, so the bound is a second line of defence that tokens cannot reach.
func TestBoundedUnion(t *testing.T) {
	list := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprint(i)
		}
		return out
	}
	tests := []struct {
		name    string
		a, b    []string
		wantLen int
		wantErr bool
	}{
		{name: "at the bound", a: list(MaxRoles), wantLen: MaxRoles},
		{name: "over the bound", a: list(MaxRoles + 1), wantErr: true},
		{name: "over the bound across both claims", a: list(MaxRoles), b: []string{"extra"}, wantErr: true},
		{name: "duplicates do not count", a: list(MaxRoles), b: list(MaxRoles), wantLen: MaxRoles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := boundedUnion(tt.a, tt.b, "roles", MaxRoles, MaxRoleLength)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "limit is 1000") {
					t.Fatalf("err = %v, want the role limit", err)
				}
				return
			}
			if err != nil || len(got) != tt.wantLen {
				t.Fatalf("got %d roles, %v; want %d", len(got), err, tt.wantLen)
			}
		})
	}
}
