package auth

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultTokenTTL is the lifetime of a token issued with a zero TTL: one hour, as in every SDK.
const DefaultTokenTTL = time.Hour

// ClientTokenOptions describe a client access token.
type ClientTokenOptions struct {
	// Audience is the aud claim, usually ClientAudience(endpoint, hub). Required.
	Audience string
	// UserID becomes sub when not empty.
	UserID string
	// Roles become the role array, Groups the webpubsub.group array, when not empty.
	Roles, Groups []string
	// TTL is the lifetime; zero means DefaultTokenTTL.
	TTL time.Duration
	// Now is the issue time; zero means time.Now().
	Now time.Time
	// Extra claims are added as given. The claims set from the other fields take precedence.
	Extra map[string]any
}

// ClientAudience returns the audience the SDKs sign for a client of hub: the endpoint, one slash,
// "client/hubs/", and the hub as given (the JS SDK neither escapes nor lower-cases it). A default port is
// dropped, as the JS SDK's URL does.
func ClientAudience(endpoint *url.URL, hub string) string {
	return endpointBase(endpoint) + clientPath + hub
}

// ClientURL returns the URL a client connects to, as the SDKs return it: the endpoint with http(s)
// turned into ws(s), /client/hubs/{hub}, and ?access_token={token}. The hub is path-escaped (as the Go
// SDK does; names made only of letters, digits and _ are unchanged, as in the JS SDK).
func ClientURL(endpoint *url.URL, hub, token string) string {
	base := endpointBase(endpoint)
	switch {
	case strings.HasPrefix(base, "https://"):
		base = "wss://" + strings.TrimPrefix(base, "https://")
	case strings.HasPrefix(base, "http://"):
		base = "ws://" + strings.TrimPrefix(base, "http://")
	}
	return base + clientPath + url.PathEscape(hub) + "?access_token=" + url.QueryEscape(token)
}

// endpointBase is the endpoint as a string with its scheme lower-cased, its default port dropped and no
// trailing slash.
func endpointBase(endpoint *url.URL) string {
	if endpoint == nil {
		return ""
	}
	u := *endpoint
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = dropDefaultPort(u.Scheme, u.Host)
	return strings.TrimRight(u.String(), "/")
}

// IssueClientToken signs a client access token with key (HS256 over the key's UTF-8 bytes) carrying
// the claims the JS SDK writes: aud, iat, exp, and when set sub, role and webpubsub.group.
func IssueClientToken(key string, opts ClientTokenOptions) (string, error) {
	if opts.Audience == "" {
		return "", errors.New("auth: a client token needs an audience")
	}
	claims := make(jwt.MapClaims, len(opts.Extra)+6)
	for k, v := range opts.Extra {
		claims[k] = v
	}
	if opts.UserID != "" {
		claims[ClaimSubject] = opts.UserID
	}
	if len(opts.Roles) > 0 {
		claims[ClaimRole] = opts.Roles
	}
	if len(opts.Groups) > 0 {
		claims[ClaimGroup] = opts.Groups
	}
	return sign(key, claims, opts.Audience, opts.TTL, opts.Now)
}

// IssueRESTToken signs a REST bearer token for audience (the full request URL) valid for ttl (zero means
// DefaultTokenTTL).
func IssueRESTToken(key, audience string, ttl time.Duration) (string, error) {
	if audience == "" {
		return "", errors.New("auth: a REST token needs an audience")
	}
	return sign(key, jwt.MapClaims{}, audience, ttl, time.Time{})
}

func sign(key string, claims jwt.MapClaims, audience string, ttl time.Duration, now time.Time) (string, error) {
	if key == "" {
		return "", errors.New("auth: no access key to sign with")
	}
	if ttl < 0 {
		return "", errors.New("auth: token lifetime must not be negative")
	}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if now.IsZero() {
		now = time.Now()
	}
	claims["aud"] = audience
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(ttl).Unix()
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(key))
}
