package auth

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestVerifyREST is the REST audience matrix (PROTOCOL.md §10.1, DESIGN.md decision 5). The request is
// POST /api/hubs/chat/groups/a%20b/:send?api-version=2024-12-01&excluded=c1&excluded=c2 reaching the
// gateway as Host gw.internal:8080; the public endpoint is https://wps.example.com.
func TestVerifyREST(t *testing.T) {
	const target = "http://gw.internal:8080/api/hubs/chat/groups/a%20b/:send?api-version=2024-12-01&excluded=c1&excluded=c2"
	tests := []struct {
		name      string
		endpoints []string
		aud       string
		noExp     bool
		ok        bool
	}{
		{name: "full URL (JS, current docs)", aud: "https://wps.example.com/api/hubs/chat/groups/a%20b/:send?api-version=2024-12-01&excluded=c1&excluded=c2", ok: true},
		{name: "without query (older docs)", aud: "https://wps.example.com/api/hubs/chat/groups/a%20b/:send", ok: true},
		{name: "query keys sorted (Go SDK)", aud: "https://wps.example.com/api/hubs/chat/groups/a%20b/:send?excluded=c1&excluded=c2&api-version=2024-12-01", ok: true},
		{name: "other scheme", aud: "http://wps.example.com/api/hubs/chat/groups/a%20b/:send", ok: true},
		{name: "path in other case", aud: "https://WPS.example.com/API/Hubs/Chat/groups/a%20b/:send", ok: true},
		{name: "path not escaped", aud: "https://wps.example.com/api/hubs/chat/groups/a b/:send", ok: true},
		{name: "trailing slash", aud: "https://wps.example.com/api/hubs/chat/groups/a%20b/:send/", ok: true},
		{name: "request Host", aud: "http://gw.internal:8080/api/hubs/chat/groups/a%20b/:send", ok: true},
		{
			name: "behind an ingress path", endpoints: []string{"https://x.example.com/wps/"},
			aud: "https://x.example.com/wps/api/hubs/chat/groups/a%20b/:send?api-version=2024-12-01&excluded=c1&excluded=c2", ok: true,
		},
		{name: "other value", aud: "https://wps.example.com/api/hubs/chat/groups/a%20b/:send?api-version=2023-07-01&excluded=c1&excluded=c2"},
		{name: "values reordered within a key", aud: "https://wps.example.com/api/hubs/chat/groups/a%20b/:send?api-version=2024-12-01&excluded=c2&excluded=c1"},
		{name: "query missing a key", aud: "https://wps.example.com/api/hubs/chat/groups/a%20b/:send?api-version=2024-12-01"},
		{name: "query with an extra key", aud: "https://wps.example.com/api/hubs/chat/groups/a%20b/:send?api-version=2024-12-01&excluded=c1&excluded=c2&x=1"},
		{name: "other path", aud: "https://wps.example.com/api/hubs/chat/:send?api-version=2024-12-01"},
		{name: "other hub", aud: "https://wps.example.com/api/hubs/other/groups/a%20b/:send"},
		{name: "other host", aud: "https://evil.example.com/api/hubs/chat/groups/a%20b/:send"},
		{name: "host only", aud: "https://wps.example.com"},
		{name: "Entra audience", aud: "https://webpubsub.azure.com"},
		{name: "missing exp", aud: "https://wps.example.com/api/hubs/chat/groups/a%20b/:send", noExp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoints := tt.endpoints
			if endpoints == nil {
				endpoints = []string{"https://wps.example.com"}
			}
			v := newTestVerifier(endpoints...)
			r, err := http.NewRequest(http.MethodPost, target, nil)
			if err != nil {
				t.Fatal(err)
			}
			payload := `{"aud":` + jsonString(tt.aud)
			if !tt.noExp {
				payload += `,"exp":` + itoa(testNow.Add(time.Hour).Unix())
			}
			token := signRaw("HS256", testSecondary, payload+"}")
			err = v.VerifyREST(token, r)
			checkNoSecret(t, err, token)
			switch {
			case tt.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.noExp && !errors.Is(err, ErrInvalidToken):
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			case !tt.ok && !tt.noExp && !errors.Is(err, ErrAudience):
				t.Fatalf("err = %v, want ErrAudience", err)
			}
		})
	}
}

// TestVerifyRESTIssued checks tokens from IssueRESTToken over the exact URL each SDK signs.
func TestVerifyRESTIssued(t *testing.T) {
	v := &Verifier{Keys: NewKeySet(testPrimary, "")}
	r, err := http.NewRequest(http.MethodHead, "http://127.0.0.1:8080/api/hubs/chat/users/u1?api-version=2024-12-01", nil)
	if err != nil {
		t.Fatal(err)
	}
	token, err := IssueRESTToken(testPrimary, r.URL.String(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.VerifyREST(token, r); err != nil {
		t.Fatalf("token for the request URL: %v", err)
	}
	if err := v.VerifyREST("", r); !errors.Is(err, ErrMissingToken) {
		t.Fatalf("no token: err = %v, want ErrMissingToken", err)
	}
	if err := v.VerifyREST(token, nil); !errors.Is(err, ErrAudience) {
		t.Fatalf("nil request: err = %v, want ErrAudience", err)
	}
}

// A REST token signs the whole URL, so a request with hundreds of excluded IDs has a token far larger
// than a client token may be; it is accepted up to MaxRESTTokenBytes.
func TestVerifyRESTLongQuery(t *testing.T) {
	target := "http://gw.internal:8080/api/hubs/chat/:send?api-version=2024-12-01"
	for i := range 800 {
		target += "&excluded=connection-id-" + strconv.Itoa(i)
	}
	r, err := http.NewRequest(http.MethodPost, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := IssueRESTToken("key", target, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) <= MaxTokenBytes {
		t.Fatalf("token of %d bytes does not exercise the REST bound", len(tok))
	}
	v := &Verifier{Keys: NewKeySet("key", "")}
	if err := v.VerifyREST(tok, r); err != nil {
		t.Fatalf("long REST token refused: %v", err)
	}
	if _, err := v.VerifyClient(tok, "chat", r); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("the same size as a client token: %v, want ErrTooLarge", err)
	}
}
