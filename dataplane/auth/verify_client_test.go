package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestVerifyClientAudience is the audience matrix of PROTOCOL.md §2.3 plus DESIGN.md decisions 5 and 10.
// The public endpoint is https://wps.example.com unless a case says otherwise; the request reaches the
// gateway as Host gw.internal:8080 (a Service or port-forward).
func TestVerifyClientAudience(t *testing.T) {
	tests := []struct {
		name      string
		endpoints []string // default: https://wps.example.com
		noHost    bool     // verify with a nil request
		target    string   // request URL; default http://gw.internal:8080/client/hubs/chat
		hub       string   // default chat
		aud       string
		ok        bool
	}{
		{name: "https", aud: "https://wps.example.com/client/hubs/chat", ok: true},
		{name: "wss", aud: "wss://wps.example.com/client/hubs/chat", ok: true},
		{name: "http", aud: "http://wps.example.com/client/hubs/chat", ok: true},
		{name: "ws", aud: "ws://wps.example.com/client/hubs/chat", ok: true},
		{name: "missing slash after host", aud: "https://wps.example.comclient/hubs/chat"},
		{name: "other hub", aud: "https://wps.example.com/client/hubs/other"},
		{name: "other hub of the same length", aud: "https://wps.example.com/client/hubs/chit"},
		{name: "hub prefix only", aud: "https://wps.example.com/client/hubs/cha"},
		{name: "other host", aud: "https://evil.example.com/client/hubs/chat"},
		{name: "host suffix", aud: "https://wps.example.com.evil.net/client/hubs/chat"},
		{name: "other scheme", aud: "ftp://wps.example.com/client/hubs/chat"},
		{name: "not a URL", aud: "chat"},
		{name: "empty audience", aud: ""},
		{name: "host and hub case", aud: "https://WPS.Example.COM/Client/Hubs/CHAT", ok: true},
		{name: "hub given in upper case by the URL", hub: "Chat", aud: "https://wps.example.com/client/hubs/chat", ok: true},
		{name: "one trailing slash", aud: "https://wps.example.com/client/hubs/chat/", ok: true},
		{name: "two trailing slashes", aud: "https://wps.example.com/client/hubs/chat//"},
		{name: "longer path", aud: "https://wps.example.com/client/hubs/chat/x"},
		{name: "other client family", aud: "https://wps.example.com/clients/mqtt/hubs/chat"},
		{name: "query on hubs form", aud: "https://wps.example.com/client/hubs/chat?x=1"},
		{name: "fragment", aud: "https://wps.example.com/client/hubs/chat#x"},
		{name: "default port 443 written out", aud: "https://wps.example.com:443/client/hubs/chat", ok: true},
		{name: "other port", aud: "https://wps.example.com:8443/client/hubs/chat"},
		{
			name: "request Host with port", aud: "http://gw.internal:8080/client/hubs/chat", ok: true,
		},
		{
			name: "request Host, other port", aud: "http://gw.internal:9090/client/hubs/chat",
		},
		{
			name: "request Host without public endpoints", endpoints: []string{},
			aud: "http://gw.internal:8080/client/hubs/chat", ok: true,
		},
		{
			name: "public endpoint without request", noHost: true,
			aud: "https://wps.example.com/client/hubs/chat", ok: true,
		},
		{
			name: "neither public endpoint nor request", endpoints: []string{}, noHost: true,
			aud: "https://wps.example.com/client/hubs/chat",
		},
		{
			name: "kwps serve endpoint", endpoints: []string{"http://127.0.0.1:8080"},
			target: "http://127.0.0.1:8080/client/hubs/chat", aud: "http://127.0.0.1:8080/client/hubs/chat", ok: true,
		},
		{
			name: "public endpoint with port", endpoints: []string{"https://wps.example.com:8443/"},
			aud: "https://wps.example.com:8443/client/hubs/chat", ok: true,
		},
		{
			name: "public endpoint with port, audience without", endpoints: []string{"https://wps.example.com:8443/"},
			aud: "https://wps.example.com/client/hubs/chat",
		},
		{
			name: "second public endpoint", endpoints: []string{"https://a.example.com", "https://wps.example.com"},
			aud: "https://wps.example.com/client/hubs/chat", ok: true,
		},
		{
			name:   "/client/?hub= URL with the /client/hubs/ audience (decision 10)",
			target: "http://gw.internal:8080/client/?hub=chat", aud: "https://wps.example.com/client/hubs/chat", ok: true,
		},
		{name: "audience in the /client/?hub= form", aud: "https://wps.example.com/client/?hub=chat", ok: true},
		{name: "audience in the /client/?hub= form, other hub", aud: "https://wps.example.com/client/?hub=other"},
		{name: "audience in the /client/?hub= form, extra query", aud: "https://wps.example.com/client/?hub=chat&x=1"},
		{name: "escaped hub", hub: "a`b", aud: "https://wps.example.com/client/hubs/a%60b", ok: true},
		{name: "raw hub", hub: "a`b", aud: "https://wps.example.com/client/hubs/a`b", ok: true},
		{name: "raw hub with brackets", hub: "a[1],b.c", aud: "https://wps.example.com/client/hubs/a[1],b.c", ok: true},
		{
			name: "behind an ingress path", endpoints: []string{"https://x.example.com/wps/"},
			aud: "https://x.example.com/wps/client/hubs/chat", ok: true,
		},
		{
			name: "behind an ingress path, prefix missing", endpoints: []string{"https://x.example.com/wps/"},
			aud: "https://x.example.com/client/hubs/chat",
		},
		{
			name: "behind an ingress path, other prefix", endpoints: []string{"https://x.example.com/wps/"},
			aud: "https://x.example.com/other/client/hubs/chat",
		},
		{name: "IPv6 request Host", target: "http://[::1]:8080/client/hubs/chat", aud: "http://[::1]:8080/client/hubs/chat", ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoints := tt.endpoints
			if endpoints == nil {
				endpoints = []string{"https://wps.example.com"}
			}
			v := newTestVerifier(endpoints...)
			target, hub := tt.target, tt.hub
			if target == "" {
				target = "http://gw.internal:8080/client/hubs/chat"
			}
			if hub == "" {
				hub = "chat"
			}
			var r *http.Request
			if !tt.noHost {
				r = clientRequest(target, "")
			}
			token := jsToken(testPrimary, tt.aud)
			c, err := v.VerifyClient(token, hub, r)
			checkNoSecret(t, err, token)
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.UserID != "user1" {
					t.Errorf("UserID = %q", c.UserID)
				}
				return
			}
			if !errors.Is(err, ErrAudience) || !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrAudience", err)
			}
		})
	}
}

func TestVerifyClientJSToken(t *testing.T) {
	aud := "https://wps.example.com/client/hubs/chat"
	payload := jsPayload(aud, "user1", []string{"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup.g1"},
		[]string{"g1", "g2"}, testNow, testNow.Add(time.Hour))
	c, err := newTestVerifier("https://wps.example.com").VerifyClient(signRaw("HS256", testPrimary, payload), "chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.UserID != "user1" || !c.HasUserID {
		t.Errorf("user = %q, %v", c.UserID, c.HasUserID)
	}
	if !slices.Equal(c.Roles, []string{"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup.g1"}) {
		t.Errorf("Roles = %q", c.Roles)
	}
	if !slices.Equal(c.Groups, []string{"g1", "g2"}) {
		t.Errorf("Groups = %q", c.Groups)
	}
	if !c.ExpiresAt.Equal(testNow.Add(time.Hour)) {
		t.Errorf("ExpiresAt = %v", c.ExpiresAt)
	}
	wantAll := map[string][]string{
		"aud":             {aud},
		"sub":             {"user1"},
		"iat":             {"1700000000"},
		"exp":             {"1700003600"},
		"role":            {"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup.g1"},
		"webpubsub.group": {"g1", "g2"},
	}
	if len(c.All) != len(wantAll) {
		t.Errorf("All = %q, want %q", c.All, wantAll)
	}
	for k, want := range wantAll {
		if !slices.Equal(c.All[k], want) {
			t.Errorf("All[%q] = %q, want %q", k, c.All[k], want)
		}
	}
}

// TestVerifyClientToken covers keys, algorithms, lifetime and size. Every token names the right audience.
func TestVerifyClientToken(t *testing.T) {
	aud := "https://wps.example.com/client/hubs/chat"
	claims := func(extra string) string {
		return `{"aud":"` + aud + `","sub":"u"` + extra + `}`
	}
	exp := func(d time.Duration) string { return `,"exp":` + itoa(testNow.Add(d).Unix()) }
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rs256, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"aud": aud, "exp": testNow.Add(time.Hour).Unix()}).SignedString(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		token   string
		wantErr error  // nil: accepted
		wantMsg string // part of the message the user sees, when set
	}{
		{name: "primary key", token: signRaw("HS256", testPrimary, claims(exp(time.Hour)))},
		{name: "secondary key", token: signRaw("HS256", testSecondary, claims(exp(time.Hour)))},
		{name: "unknown key", token: signRaw("HS256", "another-key", claims(exp(time.Hour))), wantErr: ErrInvalidToken},
		{name: "alg none", token: signRaw("none", "", claims(exp(time.Hour))), wantErr: ErrInvalidToken, wantMsg: "not HS256 with one of the access keys"},
		{name: "HS512 with a valid key", token: signRaw("HS512", testPrimary, claims(exp(time.Hour))), wantErr: ErrInvalidToken},
		{name: "RS256", token: rs256, wantErr: ErrInvalidToken},
		{name: "signature of another payload", token: resign(signRaw("HS256", testPrimary, claims(exp(time.Hour))), claims(exp(100*time.Hour))), wantErr: ErrInvalidToken},
		{name: "with kid", token: signWithHeader(`{"alg":"HS256","typ":"JWT","kid":"s-1"}`, testPrimary, claims(exp(time.Hour)))},
		{name: "expired", token: signRaw("HS256", testPrimary, claims(exp(-6*time.Minute))), wantErr: ErrExpired, wantMsg: "access token expired"},
		{name: "expired within clock skew", token: signRaw("HS256", testPrimary, claims(exp(-4*time.Minute)))},
		{name: "missing exp", token: signRaw("HS256", testPrimary, claims("")), wantErr: ErrInvalidToken, wantMsg: "claim exp is required"},
		{name: "exp not a number", token: signRaw("HS256", testPrimary, claims(`,"exp":"tomorrow"`)), wantErr: ErrInvalidToken},
		{name: "exp with decimals", token: signRaw("HS256", testPrimary, claims(`,"exp":`+itoa(testNow.Unix()+60)+`.5`))},
		{name: "nbf in the future", token: signRaw("HS256", testPrimary, claims(exp(time.Hour)+`,"nbf":`+itoa(testNow.Add(10*time.Minute).Unix()))), wantErr: ErrInvalidToken},
		{name: "nbf within clock skew", token: signRaw("HS256", testPrimary, claims(exp(time.Hour)+`,"nbf":`+itoa(testNow.Add(4*time.Minute).Unix())))},
		{name: "iat in the future", token: signRaw("HS256", testPrimary, claims(exp(time.Hour)+`,"iat":`+itoa(testNow.Add(10*time.Minute).Unix()))), wantErr: ErrInvalidToken},
		{name: "oversize", token: signRaw("HS256", testPrimary, claims(exp(time.Hour)+`,"pad":"`+strings.Repeat("x", MaxTokenBytes)+`"`)), wantErr: ErrTooLarge, wantMsg: "8 KiB"},
		{name: "oversize garbage", token: strings.Repeat("a", MaxTokenBytes+1), wantErr: ErrTooLarge},
		{name: "empty", token: "", wantErr: ErrMissingToken, wantMsg: "missing access token"},
		{name: "two segments", token: "abc.def", wantErr: ErrInvalidToken},
		{name: "not base64", token: "!!!.???.***", wantErr: ErrInvalidToken},
		{name: "payload not JSON", token: signRaw("HS256", testPrimary, "not json"), wantErr: ErrInvalidToken},
		{name: "several sub values", token: signRaw("HS256", testPrimary, `{"aud":"`+aud+`","sub":["a","b"]`+exp(time.Hour)+`}`), wantErr: ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newTestVerifier("https://wps.example.com").VerifyClient(tt.token, "chat", nil)
			checkNoSecret(t, err, tt.token)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("message %q does not say %q", err, tt.wantMsg)
			}
			if !errors.Is(tt.wantErr, ErrExpired) && errors.Is(err, ErrExpired) {
				t.Fatalf("err = %v also matches ErrExpired", err)
			}
		})
	}
}

// resign keeps token's header and signature but swaps in another payload.
func resign(token, payload string) string {
	parts := strings.Split(token, ".")
	other := strings.Split(signRaw("HS256", "x", payload), ".")
	return parts[0] + "." + other[1] + "." + parts[2]
}

func TestVerifyClientKeyRotation(t *testing.T) {
	aud := "https://wps.example.com/client/hubs/chat"
	v := newTestVerifier("https://wps.example.com")
	oldToken := jsToken(testPrimary, aud)
	if _, err := v.VerifyClient(oldToken, "chat", nil); err != nil {
		t.Fatalf("before rotation: %v", err)
	}
	// Rotate: the old secondary becomes primary, a new secondary, the old primary is gone.
	v.Keys.Set(testSecondary, "brand-new-key")
	if _, err := v.VerifyClient(oldToken, "chat", nil); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of the rotated-out key: err = %v, want ErrInvalidToken", err)
	}
	if _, err := v.VerifyClient(jsToken("brand-new-key", aud), "chat", nil); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	v.Keys.Set("", "")
	if _, err := v.VerifyClient(jsToken(testSecondary, aud), "chat", nil); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("no keys: err = %v, want ErrInvalidToken", err)
	}
	nilKeys := &Verifier{Now: v.Now}
	if _, err := nilKeys.VerifyClient(jsToken(testSecondary, aud), "chat", nil); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("nil KeySet: err = %v, want ErrInvalidToken", err)
	}
}

// TestVerifyClientKeyIsUTF8 pins the HMAC key to the key string's bytes: a token signed with the
// base64-decoded key (a plausible mistake with Azure's base64-looking keys) is refused.
func TestVerifyClientKeyIsUTF8(t *testing.T) {
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		t.Fatal(err)
	}
	v := newTestVerifier("https://wps.example.com")
	v.Keys = NewKeySet(key, "")
	aud := "https://wps.example.com/client/hubs/chat"
	payload := jsPayload(aud, "", nil, nil, testNow, testNow.Add(time.Hour))
	if _, err := v.VerifyClient(signRaw("HS256", key, payload), "chat", nil); err != nil {
		t.Fatalf("signed with the key string: %v", err)
	}
	decodedToken := hmacSign(encodeSegments(`{"alg":"HS256","typ":"JWT"}`, payload), sha256.New, decoded)
	if _, err := v.VerifyClient(decodedToken, "chat", nil); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("signed with the decoded key: err = %v, want ErrInvalidToken", err)
	}
}

func TestVerifyClientRealClock(t *testing.T) {
	// A zero Now is the wall clock: a token made now is valid, one made two hours ago is not.
	v := &Verifier{Keys: NewKeySet(testPrimary, "")}
	aud := "https://wps.example.com/client/hubs/chat"
	r := clientRequest("http://wps.example.com/client/hubs/chat", "")
	fresh, err := IssueClientToken(testPrimary, ClientTokenOptions{Audience: aud})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyClient(fresh, "chat", r); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	stale, err := IssueClientToken(testPrimary, ClientTokenOptions{Audience: aud, Now: time.Now().Add(-2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyClient(stale, "chat", r); !errors.Is(err, ErrExpired) {
		t.Fatalf("stale token: err = %v, want ErrExpired", err)
	}
}

func TestTokenFromRequest(t *testing.T) {
	tests := []struct {
		name, target, authz, want string
	}{
		{name: "query", target: "/client/hubs/chat?access_token=q.q.q", want: "q.q.q"},
		{name: "query before header", target: "/client/hubs/chat?access_token=q.q.q", authz: "Bearer h.h.h", want: "q.q.q"},
		{name: "header", target: "/client/hubs/chat", authz: "Bearer h.h.h", want: "h.h.h"},
		{name: "header scheme in any case", target: "/client/hubs/chat", authz: "bearer h.h.h", want: "h.h.h"},
		{name: "empty query falls back to header", target: "/client/hubs/chat?access_token=", authz: "Bearer h.h.h", want: "h.h.h"},
		{name: "basic auth is not a token", target: "/client/hubs/chat", authz: "Basic dXNlcjpwYXNz", want: ""},
		{name: "none", target: "/client/hubs/chat", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := clientRequest("http://gw"+tt.target, "")
			if tt.authz != "" {
				r.Header.Set("Authorization", tt.authz)
			}
			if got := TokenFromRequest(r); got != tt.want {
				t.Errorf("TokenFromRequest = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzVerifyClient(f *testing.F) {
	aud := "https://wps.example.com/client/hubs/chat"
	f.Add(jsToken(testPrimary, aud))
	f.Add(signRaw("none", "", `{"aud":"`+aud+`"}`))
	f.Add(signRaw("HS256", testPrimary, `{"aud":["`+aud+`",1,null],"exp":1e99,"role":{"a":[1.5]},"sub":[null]}`))
	f.Add("a.b.c")
	f.Add("")
	v := newTestVerifier("https://wps.example.com")
	r := clientRequest("http://gw.internal:8080/client/hubs/chat", "")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.VerifyClient(token, "chat", r)
		if err == nil && c == nil {
			t.Fatal("nil claims without an error")
		}
		if err != nil && len(token) > 20 && strings.Contains(err.Error(), token) {
			t.Fatalf("error %q quotes the token", err)
		}
	})
}

func BenchmarkVerifyClient(b *testing.B) {
	v := newTestVerifier("https://wps.example.com")
	r := clientRequest("http://gw.internal:8080/client/hubs/chat", "")
	// The secondary key makes the verifier try both keys, the slower path.
	token := jsToken(testSecondary, "https://wps.example.com/client/hubs/chat")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyClient(token, "chat", r); err != nil {
			b.Fatal(err)
		}
	}
}
