package auth

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// reconnectionIssuer marks reconnection tokens; a client token cannot pass for one (or the reverse)
// because their audiences differ: a connection ID here, a URL there.
const reconnectionIssuer = "kwps-reconnect"

// IssueReconnectionToken returns the token a reliable client presents (awps_reconnection_token) to
// recover the session of connectionID. Clients treat it as opaque; it is scoped to that connection.
func IssueReconnectionToken(key, connectionID string, ttl time.Duration, now time.Time) (string, error) {
	return sign(key, jwt.MapClaims{"iss": reconnectionIssuer}, connectionID, ttl, now)
}

// VerifyReconnectionToken checks that token was issued with one of the keys for connectionID and has
// not expired.
func (v *Verifier) VerifyReconnectionToken(token, connectionID string) error {
	m, err := v.verify(token, MaxTokenBytes)
	if err != nil {
		return err
	}
	if iss, _ := m.GetIssuer(); iss != reconnectionIssuer {
		return invalid("not a reconnection token")
	}
	auds, err := m.GetAudience()
	if err != nil || len(auds) != 1 || auds[0] != connectionID {
		return refined(ErrAudience, "the reconnection token belongs to another connection")
	}
	return nil
}
