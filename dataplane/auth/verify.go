package auth

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenBytes bounds a client token's length; a longer token is refused before it is parsed.
const MaxTokenBytes = 8 << 10

// MaxRESTTokenBytes bounds a REST token: the SDKs sign the whole request URL into its aud, so a request
// with a long query (hundreds of excluded IDs, a long filter) has a long token.
const MaxRESTTokenBytes = 128 << 10

// ClockSkew is the leeway allowed on exp, nbf and iat, as Microsoft's emulator allows.
const ClockSkew = 5 * time.Minute

// signatureParser checks structure, algorithm and signature only; time claims are validated per call
// with the Verifier's clock. A Parser without claims validation holds no mutable state, so one is
// shared. HS256 is the only algorithm any SDK uses; allowing nothing else blocks alg confusion.
var signatureParser = jwt.NewParser(
	jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
	jwt.WithJSONNumber(),
	jwt.WithoutClaimsValidation(),
)

// Verifier verifies client and REST tokens against a KeySet.
type Verifier struct {
	// Keys are the access keys; every key is tried. A nil or empty KeySet refuses every token.
	Keys *KeySet
	// PublicEndpoints returns the endpoints that apps put in their connection strings (the audience
	// hosts, and path prefixes when behind an ingress). It is called on every verification, so it must be
	// cheap and safe for concurrent use. It may be nil; the request's Host is always accepted too.
	PublicEndpoints func() []*url.URL
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// TokenFromRequest returns the access token of r: the access_token query parameter, else the
// credentials of an `Authorization: Bearer` header, else "".
func TokenFromRequest(r *http.Request) string {
	if r.URL != nil {
		if t := r.URL.Query().Get("access_token"); t != "" {
			return t
		}
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(cred)
	}
	return ""
}

// VerifyClient verifies the token of a client connecting to hub (as named in the request URL, either
// form). The audience must be <endpoint>/client/hubs/<hub> (or <endpoint>/client/?hub=<hub>) where the
// endpoint's host is a public endpoint's or r's Host; see the package doc. r may be nil.
func (v *Verifier) VerifyClient(token, hub string, r *http.Request) (*Claims, error) {
	m, err := v.verify(token, MaxTokenBytes)
	if err != nil {
		return nil, err
	}
	auds, err := m.GetAudience()
	if err != nil {
		return nil, invalid("claim aud must be a string or an array of strings")
	}
	if !v.audienceMatches(auds, r, func(aud *url.URL, prefix string) bool {
		return clientAudiencePath(aud, prefix, hub)
	}) {
		return nil, audienceError(auds, "the client endpoint of hub "+quote(hub))
	}
	return newClaims(m)
}

// VerifyREST verifies the bearer token of a REST request r. The audience must be r's URL, with or without
// its query string, on a public endpoint's host or r's Host; see the package doc.
func (v *Verifier) VerifyREST(token string, r *http.Request) error {
	m, err := v.verify(token, MaxRESTTokenBytes)
	if err != nil {
		return err
	}
	auds, err := m.GetAudience()
	if err != nil {
		return invalid("claim aud must be a string or an array of strings")
	}
	if r == nil || r.URL == nil {
		return audienceError(auds, "this request")
	}
	reqQuery := r.URL.Query()
	if !v.audienceMatches(auds, r, func(aud *url.URL, prefix string) bool {
		return restAudienceMatches(aud, prefix, r.URL.Path, reqQuery)
	}) {
		return audienceError(auds, "the request URL")
	}
	return nil
}

// verify checks size, structure, algorithm, signature (with every key) and time claims.
func (v *Verifier) verify(token string, maxBytes int) (jwt.MapClaims, error) {
	if token == "" {
		return nil, errMissing
	}
	if len(token) > maxBytes {
		return nil, refined(ErrTooLarge, "the limit is "+strconv.Itoa(maxBytes>>10)+" KiB")
	}
	keys := v.Keys.load()
	if len(keys.verify.Keys) == 0 {
		return nil, invalid("no access key is configured")
	}
	m := jwt.MapClaims{}
	if _, err := signatureParser.ParseWithClaims(token, m, func(*jwt.Token) (any, error) {
		return keys.verify, nil
	}); err != nil {
		return nil, parseError(err)
	}
	validator := jwt.NewValidator(
		jwt.WithLeeway(ClockSkew),
		jwt.WithTimeFunc(v.Now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	if err := validator.Validate(m); err != nil {
		return nil, timeError(err)
	}
	return m, nil
}

// parseError maps a jwt parse error to a message of ours; the library's text can quote token bytes.
func parseError(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return invalid("not a well-formed JWT")
	case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return invalid("the signature is not HS256 with one of the access keys")
	default:
		return invalid("")
	}
}

func timeError(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return refined(ErrExpired, "")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return invalid("claim exp is required")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return invalid("the token is not valid yet (nbf)")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return invalid("the token is issued in the future (iat)")
	case errors.Is(err, jwt.ErrInvalidType):
		return invalid("claims exp, nbf and iat must be numbers")
	default:
		return invalid("")
	}
}

func audienceError(auds []string, want string) error {
	got := "no audience"
	if len(auds) > 0 {
		got = "audience " + quote(auds[0])
	}
	return refined(ErrAudience, got+" is not "+want)
}
