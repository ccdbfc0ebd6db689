package auth

import "context"

// claimsKey is the context key of verified Claims; unexported so only this package sets it.
type claimsKey struct{}

// WithClaims returns a copy of ctx carrying c, the claims verified at the edge.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFrom returns the claims stored by WithClaims; ok is false when there are none.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}
