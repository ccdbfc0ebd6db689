package auth

import "errors"

// Sentinel errors of token verification. Every error returned by Verifier matches exactly one of
// ErrMissingToken, ErrInvalidToken, ErrExpired, ErrAudience and ErrTooLarge with errors.Is; ErrExpired,
// ErrAudience and ErrTooLarge also match ErrInvalidToken, so a caller that only needs "reject with 401"
// tests for ErrMissingToken and ErrInvalidToken. Messages are meant for the user and never contain the
// token or a key.
var (
	// ErrMissingToken: the request carries no access token.
	ErrMissingToken = errors.New("missing access token")
	// ErrInvalidToken: the token is malformed, signed with an unknown key or algorithm, or has bad claims.
	ErrInvalidToken = errors.New("invalid access token")
	// ErrExpired: the token's exp is in the past (beyond ClockSkew).
	ErrExpired = errors.New("access token expired")
	// ErrAudience: the token's aud names another endpoint, hub or URL.
	ErrAudience = errors.New("access token audience does not match")
	// ErrTooLarge: the token is longer than MaxTokenBytes; it was not parsed.
	ErrTooLarge = errors.New("access token too large")
)

// ErrConnectionString is matched by every error of ParseConnectionString.
var ErrConnectionString = errors.New("invalid connection string")

// tokenError adds a detail to a sentinel. The detail is written by this package from what was wrong,
// never copied from the token beyond a quoted, truncated audience.
type tokenError struct {
	errs   []error // the sentinel first, then ErrInvalidToken for its refinements
	detail string
}

func (e *tokenError) Error() string {
	if e.detail == "" {
		return e.errs[0].Error()
	}
	return e.errs[0].Error() + ": " + e.detail
}

// Unwrap lets errors.Is match the sentinels.
func (e *tokenError) Unwrap() []error { return e.errs }

// invalid is ErrInvalidToken with a detail.
func invalid(detail string) error { return &tokenError{errs: []error{ErrInvalidToken}, detail: detail} }

// refined is one of ErrExpired, ErrAudience and ErrTooLarge, which also match ErrInvalidToken.
func refined(kind error, detail string) error {
	return &tokenError{errs: []error{kind, ErrInvalidToken}, detail: detail}
}

var errMissing error = &tokenError{errs: []error{ErrMissingToken}}
