package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Test fixtures shared by the verification tests and benchmarks.
var (
	testNow       = time.Unix(1_700_000_000, 0)
	testPrimary   = "primary-key-0123456789ABCDEFGHIJKLMNOPQRSTUV="
	testSecondary = "secondary-key-0123456789ABCDEFGHIJKLMNOPQRS="
)

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func newTestVerifier(endpoints ...string) *Verifier {
	var eps []*url.URL
	for _, e := range endpoints {
		eps = append(eps, mustURL(e))
	}
	return &Verifier{
		Keys:            NewKeySet(testPrimary, testSecondary),
		PublicEndpoints: func() []*url.URL { return eps },
		Now:             func() time.Time { return testNow },
	}
}

// signRaw builds a JWT by hand, independent of the library under test: header {"alg":alg,"typ":"JWT"},
// the payload bytes as given, and an HMAC over key's UTF-8 bytes (no signature for "none").
func signRaw(alg, key, payload string) string {
	signing := encodeSegments(`{"alg":"`+alg+`","typ":"JWT"}`, payload)
	switch alg {
	case "HS256":
		return hmacSign(signing, sha256.New, []byte(key))
	case "HS512":
		return hmacSign(signing, sha512.New, []byte(key))
	default:
		return signing + "."
	}
}

// signWithHeader signs payload with HS256 under a header written by the caller.
func signWithHeader(header, key, payload string) string {
	return hmacSign(encodeSegments(header, payload), sha256.New, []byte(key))
}

func encodeSegments(header, payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
}

func hmacSign(signing string, h func() hash.Hash, key []byte) string {
	mac := hmac.New(h, key)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// jsPayload writes the claims the way @azure/web-pubsub (jsonwebtoken) does, in its order:
// role and webpubsub.group from the options, then iat, exp, aud and, with a userId, sub.
func jsPayload(aud, sub string, roles, groups []string, iat, exp time.Time) string {
	var b strings.Builder
	b.WriteString("{")
	if roles != nil {
		r, _ := json.Marshal(roles)
		b.WriteString(`"role":` + string(r) + ",")
	}
	if groups != nil {
		g, _ := json.Marshal(groups)
		b.WriteString(`"webpubsub.group":` + string(g) + ",")
	}
	a, _ := json.Marshal(aud)
	b.WriteString(`"iat":` + itoa(iat.Unix()) + `,"exp":` + itoa(exp.Unix()) + `,"aud":` + string(a))
	if sub != "" {
		s, _ := json.Marshal(sub)
		b.WriteString(`,"sub":` + string(s))
	}
	b.WriteString("}")
	return b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// jsToken is a token as the JS SDK makes it for hub chat on testEndpoint, one hour long.
func jsToken(key, aud string) string {
	return signRaw("HS256", key, jsPayload(aud, "user1", []string{"webpubsub.joinLeaveGroup"}, []string{"g1"},
		testNow, testNow.Add(time.Hour)))
}

// checkNoSecret fails when err's message contains the token or a key.
func checkNoSecret(t *testing.T, err error, token string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range []string{testPrimary, testSecondary} {
		if strings.Contains(msg, s) {
			t.Errorf("error %q contains a key", msg)
		}
	}
	if len(token) > 20 && strings.Contains(msg, token) {
		t.Errorf("error %q contains the token", msg)
	}
}

func clientRequest(target, host string) *http.Request {
	r, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		panic(err)
	}
	if host != "" {
		r.Host = host
	}
	return r
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
