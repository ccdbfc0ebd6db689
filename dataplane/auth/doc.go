// Package auth holds the data plane's credentials: access keys, connection strings, and the HS256 JWTs
// that clients and REST callers present.
//
// Tokens are verified at the edge (the WebSocket upgrade and the REST middleware) against an algorithm
// allow-list of HS256 and every configured access key; the verified Claims then travel through the
// request context (WithClaims, ClaimsFrom) so that nothing past the edge parses a token.
//
// Audience rules follow PROTOCOL.md §2.3 and §10.1 and DESIGN.md decisions 5 and 10: the scheme is
// ignored, the host (with port) must be a configured public endpoint's or the request's own Host, and the
// path must name the hub (client tokens) or the request path (REST tokens).
//
// Concurrency: KeySet is safe for concurrent use and can be rotated while verifications run. A Verifier
// holds no mutable state of its own and may be shared; its fields must not change after first use.
// Errors never contain a token or a key.
package auth
