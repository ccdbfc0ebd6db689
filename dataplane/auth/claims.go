package auth

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Claim types read from client tokens (PROTOCOL.md §2.2). The long forms are what .NET issuers and the
// service's own connect payloads use.
const (
	ClaimSubject        = "sub"
	ClaimNameIdentifier = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier"
	ClaimNameID         = "nameid"
	ClaimRole           = "role"
	ClaimRoleLong       = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
	ClaimGroup          = "webpubsub.group"
)

// Bounds on what a token may ask for. A token over a bound is refused as invalid.
const (
	MaxRoles       = 1000
	MaxGroups      = 1000
	MaxRoleLength  = 1100 // a role is a permission prefix plus a group name (≤1024)
	MaxGroupLength = 1024 // Azure's group-name limit
)

// Claims are the verified claims of a client token.
type Claims struct {
	// UserID is the user the connection acts for; see HasUserID.
	UserID string
	// HasUserID is false for an anonymous connection (no non-empty sub, nameidentifier or nameid).
	HasUserID bool
	// Roles are the permissions from role and its long form: deduplicated, in token order.
	Roles []string
	// Groups are the groups to join on connect, from webpubsub.group: deduplicated, in token order.
	Groups []string
	// ExpiresAt is the token's exp.
	ExpiresAt time.Time
	// All is every claim as a list of strings (numbers as JSON numbers, without exponent when integral;
	// objects as JSON; nulls dropped): the shape of the connect event's `claims`.
	All map[string][]string
}

// newClaims derives Claims from verified map claims. It refuses tokens whose user, roles or groups are
// malformed or over the bounds.
func newClaims(m jwt.MapClaims) (*Claims, error) {
	c := &Claims{All: make(map[string][]string, len(m))}
	for k, v := range m {
		if vals := claimStrings(v); len(vals) > 0 {
			c.All[k] = vals
		}
	}
	for _, k := range []string{ClaimSubject, ClaimNameIdentifier, ClaimNameID} {
		vals := c.All[k]
		if len(vals) > 1 {
			return nil, invalid(fmt.Sprintf("claim %s must be a single user id, got %d values", k, len(vals)))
		}
		if len(vals) == 1 && vals[0] != "" {
			c.UserID, c.HasUserID = vals[0], true
			break
		}
	}
	var err error
	if c.Roles, err = boundedUnion(c.All[ClaimRole], c.All[ClaimRoleLong], "roles", MaxRoles, MaxRoleLength); err != nil {
		return nil, err
	}
	if c.Groups, err = boundedUnion(c.All[ClaimGroup], nil, "groups", MaxGroups, MaxGroupLength); err != nil {
		return nil, err
	}
	for _, g := range c.Groups {
		if strings.TrimSpace(g) == "" {
			return nil, invalid("claim webpubsub.group holds a group name that is only white space")
		}
	}
	if exp, err := m.GetExpirationTime(); err == nil && exp != nil {
		c.ExpiresAt = exp.Time
	}
	return c, nil
}

// boundedUnion returns a and b concatenated without empty strings and duplicates, keeping order, or an
// error when there are more than maxN or one is longer than maxLen characters.
func boundedUnion(a, b []string, what string, maxN, maxLen int) ([]string, error) {
	if len(a)+len(b) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(a)+len(b))
	seen := make(map[string]struct{}, len(a)+len(b))
	for _, list := range [][]string{a, b} {
		for _, s := range list {
			if s == "" {
				continue
			}
			if _, dup := seen[s]; dup {
				continue
			}
			if n := utf8.RuneCountInString(s); n > maxLen {
				return nil, invalid(fmt.Sprintf("token %s: one is %d characters long, the limit is %d", what, n, maxLen))
			}
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	if len(out) > maxN {
		return nil, invalid(fmt.Sprintf("token has %d %s, the limit is %d", len(out), what, maxN))
	}
	return out, nil
}

// claimStrings writes one claim value as strings: a string as itself, a number as a JSON number
// (integral values without exponent), a boolean as true/false, an array element by element, an object
// as compact JSON; null is dropped.
func claimStrings(v any) []string {
	if arr, ok := v.([]any); ok {
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			if s, ok := scalarString(e); ok {
				out = append(out, s)
			}
		}
		return out
	}
	if s, ok := scalarString(v); ok {
		return []string{s}
	}
	return nil
}

func scalarString(v any) (string, bool) {
	switch t := v.(type) {
	case nil:
		return "", false
	case string:
		return t, true
	case json.Number:
		return numberString(t), true
	case float64:
		return floatString(t), true
	case bool:
		return strconv.FormatBool(t), true
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return "", false
		}
		return string(b), true
	}
}

// numberString keeps an integer literal as written (no precision loss past 2^53) and rewrites other
// literals such as 1.6e9 without exponent when they are integral.
func numberString(n json.Number) string {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		return s
	}
	f, err := n.Float64()
	if err != nil {
		return s
	}
	return floatString(f)
}

func floatString(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
